/**
 * The one production-secret policy (platform/SecretPolicy.ts) as both secrets see it: the
 * internal RPC secret (InternalRpc) and, through the same function, any other variable. Every
 * built-in default is refused in production for every variable, not only its own.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { InternalSecret } from "../../src/rpc/InternalRpc.ts"
import {
  configuredSecret,
  DEVELOPMENT_INTERNAL_SECRET,
  DEVELOPMENT_JWT_SECRET,
  isWeakSecret,
  MIN_PRODUCTION_SECRET_LENGTH
} from "../../src/runtime/SecretPolicy.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"

const STRONG = "k3Jq9vX2mP7rT5wY8zA1bC4dE6fG0hI-strong"

const internalSecretWith = (vars: Record<string, string>) =>
  InternalSecret.pipe(
    Effect.provide(Layer.mergeAll(
      ServerConfig.make({ port: 0, host: "127.0.0.1", env: "production", corsOrigins: [] }),
      ConfigProvider.layer(ConfigProvider.fromUnknown(vars))
    )),
    Effect.exit
  )

describe("SecretPolicy", () => {
  it("weak: well-known values (every built-in default) and anything shorter than the minimum", () => {
    for (const weak of [DEVELOPMENT_JWT_SECRET, DEVELOPMENT_INTERNAL_SECRET, "secret", "changeme", "x".repeat(31)]) {
      expect(isWeakSecret(weak), weak).toBe(true)
    }
    expect(isWeakSecret("x".repeat(MIN_PRODUCTION_SECRET_LENGTH))).toBe(false)
    expect(isWeakSecret(STRONG)).toBe(false)
  })

  it.effect("production refuses the JWT development default as INTERNAL_RPC_SECRET (long, but published)", () =>
    Effect.gen(function*() {
      const exit = yield* internalSecretWith({ INTERNAL_RPC_SECRET: DEVELOPMENT_JWT_SECRET })
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/INTERNAL_RPC_SECRET must be set/)
      const strong = yield* internalSecretWith({ INTERNAL_RPC_SECRET: STRONG })
      expect(Exit.isSuccess(strong) && Redacted.value(strong.value)).toBe(STRONG)
    }))

  it.effect("outside production (or without server settings) an unset secret is its development default", () =>
    Effect.gen(function*() {
      const read = (env: "development" | "test" | undefined) =>
        configuredSecret("SOME_SECRET", "dev-default", env).pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))),
          Effect.map(Redacted.value)
        )
      expect(yield* read("development")).toBe("dev-default")
      expect(yield* read("test")).toBe("dev-default")
      expect(yield* read(undefined)).toBe("dev-default")
    }))

  it.effect("the refusal names the variable, never the value", () =>
    Effect.gen(function*() {
      const exit = yield* configuredSecret("SOME_SECRET", "dev-default", "production").pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ SOME_SECRET: "hunter2" }))),
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(String(exit.cause)).toMatch(/SOME_SECRET must be set/)
        expect(String(exit.cause)).not.toContain("hunter2")
      }
    }))
})
