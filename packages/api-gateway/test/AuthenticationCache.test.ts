/**
 * The access-token authentication cache: a repeated token is not verified again, a session's
 * revocation announcement evicts its tokens at once (also one that arrives while the database
 * was being asked), entries age out after MAX_AGE_MS and at the token's `exp`, and failures are
 * never cached. `SessionRevocations` is a small in-memory stand-in with its register/announce
 * semantics; time is the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { TestClock } from "effect/testing"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { Unauthorized } from "@pylon/contracts/Errors"
import { cachedAuthentication, MAX_AGE_MS } from "../src/auth/AuthenticationCache.ts"
import { SessionRevocations } from "../src/auth/SessionRevocations.ts"

const claimsOf = (token: string, exp: number): AccessTokenClaims => ({
  sub: "0190a000-0000-7000-8000-000000000001",
  username: "alice",
  sid: `session-of-${token}`,
  jti: `jti-${token}`,
  token_type: "access",
  iat: 0,
  exp
}) as AccessTokenClaims

/** What the wrapped `authenticate` sees, and revocations announced by the test. */
const setup = (expSeconds = 3_600) =>
  Effect.gen(function*() {
    const calls: Array<string> = []
    const revoked = new Set<string>()
    const listeners = new Map<string, Set<() => void>>()
    const revocations = SessionRevocations.of({
      announce: (sessionId) =>
        Effect.sync(() => {
          revoked.add(sessionId)
          for (const onRevoked of listeners.get(sessionId) ?? []) onRevoked()
          listeners.delete(sessionId)
        }),
      register: (sessionId, onRevoked) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            if (revoked.has(sessionId)) return onRevoked()
            const set = listeners.get(sessionId) ?? new Set()
            set.add(onRevoked)
            listeners.set(sessionId, set)
          }),
          () => Effect.sync(() => listeners.get(sessionId)?.delete(onRevoked))
        )
    })
    /** Stands in for AuthService's own check: the database says revoked once announced. */
    let beforeAnswer: Effect.Effect<void> = Effect.void
    const authenticate = (token: string) =>
      Effect.gen(function*() {
        calls.push(token)
        if (token === "bad") return yield* new Unauthorized({ message: "invalid token" })
        const claims = claimsOf(token, expSeconds)
        if (revoked.has(claims.sid)) return yield* new Unauthorized({ message: "session revoked" })
        yield* beforeAnswer
        return claims
      })
    const cached = yield* cachedAuthentication(authenticate, revocations)
    return {
      calls,
      cached,
      revocations,
      listeners,
      setBeforeAnswer: (effect: Effect.Effect<void>) => {
        beforeAnswer = effect
      }
    }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => Option.getOrUndefined(Exit.findErrorOption(exit))

describe("AuthenticationCache", () => {
  it.effect("a repeated token is authenticated once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, calls } = yield* setup()
      const first = yield* cached("t1")
      const again = yield* cached("t1")
      expect(again).toEqual(first)
      expect(calls).toEqual(["t1"])
    })))

  it.effect("a revocation announcement evicts the session's tokens at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, calls, revocations } = yield* setup()
      const claims = yield* cached("t1")
      yield* revocations.announce(claims.sid)
      const exit = yield* Effect.exit(cached("t1"))
      expect(failureOf(exit)).toEqual(new Unauthorized({ message: "session revoked" }))
      expect(calls).toEqual(["t1", "t1"])
    })))

  it.effect("a revocation announced while the database was asked refuses the token", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, revocations, setBeforeAnswer } = yield* setup()
      setBeforeAnswer(revocations.announce("session-of-t1"))
      const exit = yield* Effect.exit(cached("t1"))
      expect(failureOf(exit)).toEqual(new Unauthorized({ message: "session revoked" }))
    })))

  it.effect("entries age out after MAX_AGE_MS, and never outlive the token's exp", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, calls } = yield* setup()
      yield* cached("t1")
      yield* TestClock.adjust(MAX_AGE_MS - 1)
      yield* cached("t1")
      expect(calls).toEqual(["t1"])
      yield* TestClock.adjust(1)
      yield* cached("t1")
      expect(calls).toEqual(["t1", "t1"])
    })))

  it.effect("a token expiring sooner than MAX_AGE_MS is asked again at its exp", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, calls } = yield* setup(2) // exp = 2 s after the epoch (the TestClock's start)
      yield* cached("t1")
      yield* TestClock.adjust(1_999)
      yield* cached("t1")
      yield* TestClock.adjust(1)
      yield* cached("t1")
      expect(calls).toEqual(["t1", "t1"])
    })))

  it.effect("failures are not cached", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, calls } = yield* setup()
      yield* Effect.exit(cached("bad"))
      yield* Effect.exit(cached("bad"))
      expect(calls).toEqual(["bad", "bad"])
    })))

  it.effect("expired entries are swept and their revocation registrations released", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cached, listeners } = yield* setup()
      yield* cached("t1")
      expect(listeners.get("session-of-t1")?.size).toBe(1)
      yield* TestClock.adjust(2 * MAX_AGE_MS)
      expect(listeners.get("session-of-t1")?.size ?? 0).toBe(0)
    })))
})
