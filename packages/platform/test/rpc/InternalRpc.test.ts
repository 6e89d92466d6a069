/**
 * The internal RPC secret: a development default outside production, refused in production
 * unless it is set to a long random value.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { DEVELOPMENT_INTERNAL_SECRET, InternalSecret } from "../../src/rpc/InternalRpc.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"

const secretWith = (env: "development" | "production", vars: Record<string, string>) =>
  InternalSecret.pipe(
    Effect.provide(Layer.mergeAll(
      ServerConfig.make({ port: 0, host: "127.0.0.1", env, corsOrigins: [] }),
      ConfigProvider.layer(ConfigProvider.fromUnknown(vars))
    )),
    Effect.exit
  )

describe("InternalSecret", () => {
  it.effect("falls back to the development secret outside production", () =>
    Effect.gen(function*() {
      const exit = yield* secretWith("development", {})
      expect(Exit.isSuccess(exit) && Redacted.value(exit.value)).toBe(DEVELOPMENT_INTERNAL_SECRET)
    }))

  it.effect("production refuses a missing, default or short secret and accepts a long one", () =>
    Effect.gen(function*() {
      expect(Exit.isFailure(yield* secretWith("production", {}))).toBe(true)
      expect(Exit.isFailure(yield* secretWith("production", { INTERNAL_RPC_SECRET: DEVELOPMENT_INTERNAL_SECRET }))).toBe(true)
      expect(Exit.isFailure(yield* secretWith("production", { INTERNAL_RPC_SECRET: "short-secret" }))).toBe(true)
      const strong = "x".repeat(16) + "y".repeat(16) + "z"
      const exit = yield* secretWith("production", { INTERNAL_RPC_SECRET: strong })
      expect(Exit.isSuccess(exit) && Redacted.value(exit.value)).toBe(strong)
    }))
})
