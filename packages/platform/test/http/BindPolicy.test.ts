/**
 * The dev-mode binding rule (BindPolicy.ts, issue #7 item 3) through `ServerConfig.fromEnv`: a
 * process using a built-in development secret listens on loopback only, unless told otherwise
 * with `APP_ENV=development` set explicitly.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { ServerConfig } from "../../src/http/ServerConfig.ts"

const GATEWAY_SECRETS = ["JWT_SECRET", "INTERNAL_RPC_SECRET"]
const SECRETS = { JWT_SECRET: "a".repeat(40), INTERNAL_RPC_SECRET: "b".repeat(40) }

const settingsFrom = (vars: Record<string, string>, secretVariables: ReadonlyArray<string> = GATEWAY_SECRETS) =>
  Effect.exit(
    Effect.gen(function*() {
      return yield* ServerConfig
    }).pipe(
      Effect.provide(
        ServerConfig.fromEnv({ secretVariables }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(vars))))
      )
    )
  )

const hostOf = (exit: Exit.Exit<{ readonly host: string }, unknown>) => Exit.isSuccess(exit) ? exit.value.host : "refused"

describe("ServerConfig bind policy", () => {
  it.effect("with every secret set, APP_HOST as configured (default 0.0.0.0)", () =>
    Effect.gen(function*() {
      expect(hostOf(yield* settingsFrom(SECRETS))).toBe("0.0.0.0")
      expect(hostOf(yield* settingsFrom({ ...SECRETS, APP_HOST: "10.1.2.3" }))).toBe("10.1.2.3")
    }))

  it.effect("a built-in secret in use and APP_HOST unset: loopback only (also with APP_ENV unset)", () =>
    Effect.gen(function*() {
      expect(hostOf(yield* settingsFrom({}))).toBe("127.0.0.1")
      expect(hostOf(yield* settingsFrom({ JWT_SECRET: SECRETS.JWT_SECRET }))).toBe("127.0.0.1")
      expect(hostOf(yield* settingsFrom({ INTERNAL_RPC_SECRET: SECRETS.INTERNAL_RPC_SECRET }))).toBe("127.0.0.1")
      // A backend service uses only the internal secret.
      expect(hostOf(yield* settingsFrom({ INTERNAL_RPC_SECRET: SECRETS.INTERNAL_RPC_SECRET }, ["INTERNAL_RPC_SECRET"])))
        .toBe("0.0.0.0")
    }))

  it.effect("a built-in secret in use and APP_HOST non-loopback: refused unless APP_ENV=development is explicit", () =>
    Effect.gen(function*() {
      const refused = yield* settingsFrom({ APP_HOST: "0.0.0.0" })
      expect(hostOf(refused)).toBe("refused")
      expect(JSON.stringify(refused)).toContain("JWT_SECRET, INTERNAL_RPC_SECRET")
      expect(hostOf(yield* settingsFrom({ APP_HOST: "0.0.0.0", APP_ENV: "test" }))).toBe("refused")
      expect(hostOf(yield* settingsFrom({ APP_HOST: "0.0.0.0", APP_ENV: "development" }))).toBe("0.0.0.0")
      expect(hostOf(yield* settingsFrom({ APP_HOST: "127.0.0.1" }))).toBe("127.0.0.1")
      expect(hostOf(yield* settingsFrom({ APP_HOST: "::1" }))).toBe("::1")
    }))
})
