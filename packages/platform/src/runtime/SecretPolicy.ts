/**
 * The production-secret policy for every shared secret a process reads (`JWT_SECRET`,
 * `INTERNAL_RPC_SECRET`): outside production an unset secret falls back to its built-in
 * development default (BindPolicy then keeps the process on loopback); with
 * `APP_ENV=production` a missing, short or well-known secret — any built-in default included,
 * whichever variable it was meant for — stops the process at start.
 */
import { Config, Effect, Option, Redacted } from "effect"
import type { AppEnv } from "./AppEnv.ts"

/** Used only outside production so `npm start` works with no setup; refused in production. */
export const DEVELOPMENT_JWT_SECRET = "pylon-development-secret-do-not-use-in-production"
export const DEVELOPMENT_INTERNAL_SECRET = "pylon-development-internal-secret"

export const MIN_PRODUCTION_SECRET_LENGTH = 32

/** Values copied from docs and samples; refused in production whatever their length. */
const WELL_KNOWN_SECRETS: ReadonlySet<string> = new Set([
  DEVELOPMENT_JWT_SECRET,
  DEVELOPMENT_INTERNAL_SECRET,
  "secret",
  "changeme",
  "change-me",
  "your-secret-key"
])

/** Whether `value` may not serve as a production secret. */
export const isWeakSecret = (value: string): boolean =>
  WELL_KNOWN_SECRETS.has(value) || value.length < MIN_PRODUCTION_SECRET_LENGTH

/**
 * Reads secret variable `name` under the policy: `env` is the process's `APP_ENV` (`undefined`
 * when it has no server settings, which is never production). A refusal is a defect: the
 * process cannot run misconfigured, and the message names the variable, never its value.
 */
export const configuredSecret = Effect.fnUntraced(function*(
  name: string,
  developmentDefault: string,
  env: AppEnv | undefined
) {
  const configured = yield* Config.option(Config.Redacted(name))
  if (env === "production" && Option.match(configured, { onNone: () => true, onSome: (s) => isWeakSecret(Redacted.value(s)) })) {
    return yield* Effect.die(
      new Error(
        `${name} must be set to a random value of at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when APP_ENV=production`
      )
    )
  }
  return Option.getOrElse(configured, () => Redacted.make(developmentDefault))
})
