/**
 * `SessionRevocations` in process (in-memory bus, a repository stub that says which sessions are
 * active, TestClock for the recheck): an announced session's connections end, a connection that
 * registers after the announcement ends at once, and a lost announcement is caught by the
 * periodic database check. The cross-node path is covered in packages/pylon/test/Topology.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { AuthConfig } from "../src/auth/AuthConfig.ts"
import { RefreshTokenRepository } from "../src/auth/RefreshTokenRepository.ts"
import { SessionRevocations } from "../src/auth/SessionRevocations.ts"

const active = new Set<string>()

const TestLive = SessionRevocations.layerWith(Duration.seconds(30)).pipe(
  Layer.provide(MemoryRealtimeBus.layer),
  Layer.provide(Layer.succeed(RefreshTokenRepository, {
    insert: () => Effect.void,
    findByHash: () => Effect.succeed(Option.none()),
    rotate: () => Effect.succeed(false),
    revokeFamily: () => Effect.void,
    isFamilyActive: (familyId) => Effect.succeed(active.has(familyId)),
    activeFamilies: (ids) => Effect.succeed(new Set(ids.filter((id) => active.has(id))))
  })),
  Layer.provide(AuthConfig.make({
    jwtSecret: Redacted.make("unit-test-secret-unit-test-secret"),
    accessTokenTtl: Duration.minutes(15),
    refreshTokenTtl: Duration.days(7)
  }))
)

const waitUntil = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && !condition(); i++) yield* Effect.yieldNow
  })

describe("SessionRevocations", () => {
  it.effect("an announcement ends the session's registered connections, and any that register later", () =>
    Effect.gen(function*() {
      const revocations = yield* SessionRevocations
      active.add("s-1").add("s-2")
      const ended: Array<string> = []
      const scope = yield* Scope.make()
      yield* Scope.provide(revocations.register("s-1", () => ended.push("s-1 a")), scope)
      yield* Scope.provide(revocations.register("s-1", () => ended.push("s-1 b")), scope)
      yield* Scope.provide(revocations.register("s-2", () => ended.push("s-2")), scope)
      active.delete("s-1")
      yield* revocations.announce("s-1")
      expect(ended.sort()).toEqual(["s-1 a", "s-1 b"])
      // A connection of s-1 that authenticated just before the revocation registers afterwards.
      yield* Scope.provide(revocations.register("s-1", () => ended.push("s-1 late")), scope)
      expect(ended).toContain("s-1 late")
      expect(ended).not.toContain("s-2")
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(TestLive)))

  it.effect("a lost announcement is caught by the periodic database check", () =>
    Effect.gen(function*() {
      const revocations = yield* SessionRevocations
      // Let the node subscribe and run its start-up check before anything is registered.
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
      active.add("s-3").add("s-4")
      const ended: Array<string> = []
      yield* revocations.register("s-3", () => ended.push("s-3"))
      yield* revocations.register("s-4", () => ended.push("s-4"))
      // Revoked in the database, but no announcement reaches this node.
      active.delete("s-3")
      yield* TestClock.adjust(Duration.seconds(29))
      expect(ended).toEqual([])
      yield* TestClock.adjust(Duration.seconds(2))
      yield* waitUntil(() => ended.length > 0)
      expect(ended).toEqual(["s-3"])
    }).pipe(Effect.scoped, Effect.provide(TestLive)))
})
