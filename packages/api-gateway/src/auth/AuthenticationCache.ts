/**
 * Remembers successful authentications of an access token for a few seconds, so a client
 * sending many requests with the same token does not pay the JWT verification (HMAC) and the
 * session's PostgreSQL query on every one (history pages, issue #10).
 *
 * Kept current by the session-revocation bus: every cached token is registered with
 * `SessionRevocations` under its session, and is forgotten the moment that session's
 * revocation is announced — on this node at once (the revoking node ends its sessions before
 * answering), on other nodes when the announcement arrives. An announcement lost on the bus is
 * caught by `SessionRevocations`' database reconciliation (bus gap, periodic check) and, at the
 * latest, by the entry's age limit of `MAX_AGE_MS`; an entry never outlives its token's `exp`.
 * Failures (invalid token, revoked session, database down) are never cached.
 */
import { Clock, Effect, Exit, Scope } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { Unauthorized } from "@pylon/contracts/Errors"
import type { Unavailable } from "@pylon/contracts/Errors"
import type { SessionRevocations } from "./SessionRevocations.ts"

/** Longest a success is reused without asking PostgreSQL again (bounds a lost revocation announcement). */
export const MAX_AGE_MS = 10_000
/** Tokens remembered at most; beyond, new ones are not cached until expired ones are swept. */
export const MAX_ENTRIES = 50_000

interface Entry {
  readonly claims: AccessTokenClaims
  readonly until: number
  /** Holds the entry's registration with `SessionRevocations`. */
  readonly scope: Scope.Closeable
}

type Authenticate = (token: string) => Effect.Effect<AccessTokenClaims, Unauthorized | Unavailable>

/**
 * Wraps `authenticate` with the cache; expired entries are swept every `MAX_AGE_MS` by a fiber
 * of the current scope.
 */
export const cachedAuthentication = Effect.fnUntraced(function*(
  authenticate: Authenticate,
  revocations: SessionRevocations["Service"]
) {
  const entries = new Map<string, Entry>()

  const drop = (token: string, entry: Entry) =>
    Effect.suspend(() => {
      if (entries.get(token) === entry) entries.delete(token)
      return Scope.close(entry.scope, Exit.void)
    })

  const sweep = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const [token, entry] of entries) if (entry.until <= now) yield* drop(token, entry)
  })
  yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(MAX_AGE_MS), sweep)))

  const remember = (token: string, claims: AccessTokenClaims, now: number) =>
    Effect.gen(function*() {
      if (entries.size >= MAX_ENTRIES) yield* sweep
      if (entries.size >= MAX_ENTRIES) return true
      const entry: Entry = { claims, until: Math.min(now + MAX_AGE_MS, claims.exp * 1000), scope: yield* Scope.make() }
      entries.set(token, entry)
      // Fires at once if the session's revocation was announced while we asked the database.
      yield* revocations.register(claims.sid, () => {
        if (entries.get(token) === entry) entries.delete(token)
      }).pipe(Scope.provide(entry.scope))
      return entries.get(token) === entry
    })

  return Effect.fnUntraced(function*(token: string) {
    const now = yield* Clock.currentTimeMillis
    const cached = entries.get(token)
    if (cached !== undefined) {
      if (cached.until > now) return cached.claims
      yield* drop(token, cached)
    }
    const claims = yield* authenticate(token)
    if (!(yield* remember(token, claims, now))) return yield* new Unauthorized({ message: "session revoked" })
    return claims
  })
})
