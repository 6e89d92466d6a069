/**
 * Restart-on-change of `pnpm dev` (issue #9 item 1): which roles a changed file restarts, the
 * watcher reporting real file writes under `packages/<name>/src` (a temporary tree), and a real
 * service process (the room service on the real PostgreSQL) replaced by a new one that answers
 * `/ready`, the old one gone, and the last one stopped with its scope.
 */
import { randomBytes } from "node:crypto"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Option, Queue, Redacted, Stream } from "effect"
import { readyStatus } from "@pylon/testkit/Rest"
import { TestDatabase, TestDatabaseInfo } from "@pylon/testkit/TestDatabase"
import { freePorts } from "../src/FreePorts.ts"
import { restartableService } from "../src/RestartableService.ts"
import type { Role } from "../src/SourceWatcher.ts"
import { changedRoles, ROLES, rolesFor } from "../src/SourceWatcher.ts"

describe("which processes a change restarts", () => {
  it("a service package restarts its own role; shared packages restart every role; test support and editor files none", () => {
    expect(rolesFor("chat-service", "outbox/OutboxRelay.ts")).toEqual(["chat"])
    expect(rolesFor("api-gateway", "ws/WsSession.ts")).toEqual(["gateway"])
    expect(rolesFor("web", "index.html")).toEqual(["gateway"])
    expect(rolesFor("room-service", "RoomService.ts")).toEqual(["room"])
    expect(rolesFor("presence-service", "PresenceServiceApp.ts")).toEqual(["presence"])
    expect(rolesFor("notification-service", "NotificationConsumer.ts")).toEqual(["notification"])
    for (const shared of ["platform", "contracts", "proto-gen", "pylon"]) {
      expect(rolesFor(shared, "x/Module.ts")).toEqual(ROLES)
    }
    expect(rolesFor("testkit", "Rest.ts")).toEqual([])
    expect(rolesFor("chat-service", ".ChatService.ts.swp")).toEqual([])
    expect(rolesFor("chat-service", "ChatService.ts~")).toEqual([])
    expect(rolesFor("chat-service", "notes.md")).toEqual([])
  })
})

describe("the source watcher", () => {
  it.live("reports the roles of files written under packages/<name>/src", () =>
    Effect.gen(function*() {
      const root = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-watch-"))),
        (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
      )
      const names = ["chat-service", "platform", "testkit"]
      for (const name of names) yield* Effect.promise(() => mkdir(NodePath.join(root, name, "src", "deep"), { recursive: true }))
      const seen = yield* Queue.unbounded<ReadonlySet<Role>>()
      yield* changedRoles(root, names, "100 millis").pipe(
        Stream.runForEach((roles) => Queue.offer(seen, roles)),
        Effect.forkScoped
      )
      /** Writes `file` until a change is reported (the watcher is installed asynchronously). */
      const touchUntilSeen = (file: string) =>
        Effect.gen(function*() {
          for (let attempt = 0; attempt < 60; attempt++) {
            yield* Effect.promise(() => writeFile(NodePath.join(root, file), `export const v = "${randomBytes(4).toString("hex")}"\n`))
            const roles = yield* Queue.take(seen).pipe(Effect.timeoutOption("500 millis"))
            if (Option.isSome(roles)) return roles.value
          }
          return yield* Effect.die(new Error(`no change reported for ${file}`))
        })
      expect([...(yield* touchUntilSeen("chat-service/src/deep/ChatThing.ts"))]).toEqual(["chat"])
      yield* Effect.sleep("300 millis")
      yield* Queue.clear(seen)
      expect(new Set(yield* touchUntilSeen("platform/src/Shared.ts"))).toEqual(new Set(ROLES))
      // test support changes nothing: only the chat write after it is reported
      yield* Effect.sleep("300 millis")
      yield* Queue.clear(seen)
      yield* Effect.promise(() => writeFile(NodePath.join(root, "testkit/src/Helper.ts"), "export {}\n"))
      expect([...(yield* touchUntilSeen("chat-service/src/ChatOther.ts"))]).toEqual(["chat"])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)), 60_000)
})

layer(TestDatabase, { excludeTestServices: true, timeout: "60 seconds" })("a restartable service process", (it) => {
  it.effect("restart replaces the process with a new one that answers /ready; closing the scope stops it", () =>
    Effect.gen(function*() {
      const { url } = yield* TestDatabaseInfo
      const [port] = yield* freePorts(1)
      if (port === undefined) return yield* Effect.die(new Error("no free port"))
      const spec = {
        name: "room",
        command: "room",
        port,
        env: { DATABASE_URL: Redacted.value(url), APP_HOST: "127.0.0.1", APP_ENV: "development" }
      }
      const { first, second } = yield* Effect.gen(function*() {
        const service = yield* restartableService(spec, { quiet: true })
        const before = yield* service.current
        expect(Option.isSome(before)).toBe(true)
        expect(yield* service.restart).toBe(true)
        const after = yield* service.current
        return {
          first: Option.getOrThrow(before).child,
          second: Option.getOrThrow(after).child
        }
      }).pipe(
        Effect.tap(({ first, second }) =>
          Effect.gen(function*() {
            expect(second.pid).not.toBe(first.pid)
            expect(first.exitCode !== null || first.signalCode !== null).toBe(true)
            expect(yield* readyStatus(`http://127.0.0.1:${port}`)).toBe(200)
          })
        ),
        Effect.scoped
      )
      // the scope is closed: the second process has been stopped too
      expect(second.exitCode !== null || second.signalCode !== null).toBe(true)
      expect(first.pid).not.toBe(second.pid)
      expect(yield* readyStatus(`http://127.0.0.1:${port}`)).toBe(0)
    }), { timeout: 240_000 })
})
