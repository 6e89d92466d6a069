/**
 * Where a process may listen while it uses built-in development secrets (issue #7 item 3).
 * The development defaults of `JWT_SECRET` and `INTERNAL_RPC_SECRET` are in the source, so
 * anyone who can reach a process using them can mint access tokens or call internal RPCs as any
 * user. Such a process therefore listens on loopback only:
 *
 * - every secret it uses is set → `APP_HOST` as configured (default `0.0.0.0`);
 * - a secret is unset and `APP_HOST` is unset → `127.0.0.1`, and the start log says why;
 * - a secret is unset and `APP_HOST` is a loopback address → as configured;
 * - a secret is unset and `APP_HOST` is another address → refused at start, unless
 *   `APP_ENV=development` is set explicitly (an informed choice, logged as a warning).
 *
 * Production never gets here with a default: `APP_ENV=production` refuses weak secrets.
 */
import { Config, Effect, Option } from "effect"
import type { AppEnv } from "../runtime/AppEnv.ts"

export const LOOPBACK_HOST = "127.0.0.1"
export const ANY_HOST = "0.0.0.0"

/** The secrets a process uses by default: every service checks internal RPC callers. */
export const INTERNAL_SECRET_VARIABLES: ReadonlyArray<string> = ["INTERNAL_RPC_SECRET"]

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)

/** The secret variables among `variables` that are not set (their built-in defaults apply). */
export const unsetSecrets = Effect.fnUntraced(function*(variables: ReadonlyArray<string>) {
  const unset: Array<string> = []
  for (const name of variables) {
    if (Option.isNone(yield* Config.option(Config.String(name)))) unset.push(name)
  }
  return unset
})

export type BindDecision =
  | { readonly _tag: "Bind"; readonly host: string; readonly notice: string | undefined }
  | { readonly _tag: "Refuse"; readonly message: string }

/** Applies the rule above; `explicitEnv` is `APP_ENV` only when it was actually set. */
export const decideBind = (input: {
  readonly configuredHost: Option.Option<string>
  readonly explicitEnv: Option.Option<AppEnv>
  readonly unsetSecrets: ReadonlyArray<string>
}): BindDecision => {
  const { configuredHost, explicitEnv } = input
  if (input.unsetSecrets.length === 0) {
    return { _tag: "Bind", host: Option.getOrElse(configuredHost, () => ANY_HOST), notice: undefined }
  }
  const secrets = input.unsetSecrets.join(", ")
  if (Option.isNone(configuredHost)) {
    return {
      _tag: "Bind",
      host: LOOPBACK_HOST,
      notice: `listening on loopback (${LOOPBACK_HOST}) only: ${secrets} not set, so the built-in development ` +
        `secrets are in use; set them (and APP_HOST) to accept connections from other hosts`
    }
  }
  const host = configuredHost.value
  if (isLoopback(host)) return { _tag: "Bind", host, notice: undefined }
  if (Option.isSome(explicitEnv) && explicitEnv.value === "development") {
    return {
      _tag: "Bind",
      host,
      notice: `APP_ENV=development: listening on ${host} with the built-in development secrets (${secrets} not set); ` +
        `anyone who can reach this host can mint tokens and call internal RPCs`
    }
  }
  return {
    _tag: "Refuse",
    message: `APP_HOST=${host} with the built-in development secrets (${secrets} not set) would let anyone who can ` +
      `reach this host mint tokens and call internal RPCs: set ${secrets}, or APP_ENV=development to accept that`
  }
}
