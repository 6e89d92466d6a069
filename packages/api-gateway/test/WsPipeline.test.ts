/**
 * The per-connection machinery behind the WebSocket limits, without sockets: the frame pipeline
 * (bounded concurrency, lanes, replies in arrival order), inbound flow control in bytes, the
 * per-user-and-room typing throttle, the connection caps and multi-unit frame budgets.
 * Every ordering here is forced with Deferreds; nothing depends on timing.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { ConnectionLimits } from "../src/ws/ConnectionLimits.ts"
import { FrameBudget } from "../src/ws/FrameBudget.ts"
import { makeFramePipeline } from "../src/ws/FramePipeline.ts"
import type { FrameStep } from "../src/ws/FramePipeline.ts"
import { InboundFlow } from "../src/ws/InboundFlow.ts"
import { TypingWindows } from "../src/ws/TypingThrottle.ts"
import { WsSettings } from "../src/ws/WsSettings.ts"

/** A stable UUID per test name, so tests can say `user("u1")`. */
const uuids = new Map<string, string>()
const uuidOf = (name: string) => {
  const known = uuids.get(name)
  if (known !== undefined) return known
  const fresh = randomUUID()
  uuids.set(name, fresh)
  return fresh
}
const user = (name: string) => UserId.make(uuidOf(`user ${name}`))
const room = (name: string) => RoomId.make(uuidOf(`room ${name}`))

/** Counts answered frames and lets a test wait for the n-th. */
const answeredCounter = () =>
  Effect.gen(function*() {
    let count = 0
    const waiters: Array<{ readonly n: number; readonly done: Deferred.Deferred<void> }> = []
    const onAnswered = () => {
      count++
      for (const waiter of waiters) if (count >= waiter.n) Deferred.doneUnsafe(waiter.done, Effect.void)
    }
    const awaitCount = (n: number) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<void>()
        waiters.push({ n, done })
        if (count >= n) yield* Deferred.succeed(done, undefined)
        yield* Deferred.await(done)
      })
    return { onAnswered, awaitCount, count: () => count }
  })

describe("FramePipeline", () => {
  it.effect("replies leave in arrival order although the handlers finish in reverse order", () =>
    Effect.gen(function*() {
      const pipeline = yield* makeFramePipeline(8)
      const answered = yield* answeredCounter()
      const written: Array<string> = []
      const gates = yield* Effect.forEach([0, 1, 2], () => Deferred.make<void>())
      for (const [i, gate] of gates.entries()) {
        yield* pipeline.submit(undefined, (step) =>
          Deferred.await(gate).pipe(
            Effect.andThen(step.turn),
            Effect.andThen(Effect.sync(() => written.push(`reply ${i}`)))
          ), answered.onAnswered)
      }
      for (const gate of [...gates].reverse()) yield* Deferred.succeed(gate, undefined)
      yield* answered.awaitCount(3)
      expect(written).toEqual(["reply 0", "reply 1", "reply 2"])
    }).pipe(Effect.scoped))

  it.effect("at most maxInFlight frames are unanswered: the next submit waits for one to be answered", () =>
    Effect.gen(function*() {
      const pipeline = yield* makeFramePipeline(2)
      const answered = yield* answeredCounter()
      const gate = yield* Deferred.make<void>()
      const thirdStarted = yield* Deferred.make<void>()
      for (let i = 0; i < 2; i++) yield* pipeline.submit(undefined, () => Deferred.await(gate), answered.onAnswered)
      const third = yield* pipeline.submit(undefined, () => Deferred.succeed(thirdStarted, undefined), answered.onAnswered).pipe(
        Effect.forkChild
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      expect(yield* Deferred.isDone(thirdStarted)).toBe(false)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(third)
      yield* Deferred.await(thirdStarted)
      yield* answered.awaitCount(3)
    }).pipe(Effect.scoped))

  it.effect("a lane runs its frames in arrival order, other lanes meanwhile; releaseLane starts the next one early", () =>
    Effect.gen(function*() {
      const pipeline = yield* makeFramePipeline(8)
      const answered = yield* answeredCounter()
      const committed = yield* Deferred.make<void>()
      const replied = yield* Deferred.make<void>()
      const secondOfA = yield* Deferred.make<void>()
      const firstOfB = yield* Deferred.make<void>()
      yield* pipeline.submit("A", (step: FrameStep) =>
        Deferred.await(committed).pipe(
          Effect.andThen(step.releaseLane),
          Effect.andThen(Deferred.await(replied))
        ), answered.onAnswered)
      yield* pipeline.submit("A", () => Deferred.succeed(secondOfA, undefined), answered.onAnswered)
      yield* pipeline.submit("B", () => Deferred.succeed(firstOfB, undefined), answered.onAnswered)

      yield* Deferred.await(firstOfB)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      expect(yield* Deferred.isDone(secondOfA)).toBe(false)
      yield* Deferred.succeed(committed, undefined)
      // The first frame of A has not replied yet, but its lane is free.
      yield* Deferred.await(secondOfA)
      expect(answered.count()).toBe(0)
      yield* Deferred.succeed(replied, undefined)
      yield* answered.awaitCount(3)
    }).pipe(Effect.scoped))

  it.effect("a handler that dies does not stall the frames after it", () =>
    Effect.gen(function*() {
      const pipeline = yield* makeFramePipeline(4)
      const answered = yield* answeredCounter()
      const written: Array<string> = []
      yield* pipeline.submit(undefined, () => Effect.die(new Error("boom")), answered.onAnswered)
      yield* pipeline.submit(undefined, (step) => step.turn.pipe(Effect.andThen(Effect.sync(() => written.push("after")))), answered.onAnswered)
      yield* answered.awaitCount(2)
      expect(written).toEqual(["after"])
    }).pipe(Effect.scoped))

  it.effect("shutdown interrupts the handlers and counts their frames as answered", () =>
    Effect.gen(function*() {
      const pipeline = yield* makeFramePipeline(4)
      const answered = yield* answeredCounter()
      const started = yield* Deferred.make<void>()
      yield* pipeline.submit(undefined, () => Deferred.succeed(started, undefined).pipe(Effect.andThen(Effect.never)), answered.onAnswered)
      yield* Deferred.await(started)
      yield* pipeline.shutdown
      expect(answered.count()).toBe(1)
    }).pipe(Effect.scoped))
})

describe("InboundFlow", () => {
  const recorder = () => {
    const calls: Array<"pause" | "resume"> = []
    return { calls, control: { pause: () => void calls.push("pause"), resume: () => void calls.push("resume") } }
  }

  it("stops reading at the limit and reads again once half of it is answered", () => {
    const { calls, control } = recorder()
    const flow = new InboundFlow(1_000, control)
    flow.received(400)
    expect(flow.isPaused).toBe(false)
    flow.received(700)
    expect([flow.isPaused, flow.pendingBytes]).toEqual([true, 1_100])
    flow.received(50)
    flow.answered(400)
    expect(flow.isPaused).toBe(true)
    flow.answered(250)
    expect([flow.isPaused, flow.pendingBytes]).toEqual([false, 500])
    expect(calls).toEqual(["pause", "resume"])
  })

  it("a flood stays within the limit plus the one chunk the socket had already read", () => {
    const { control } = recorder()
    const limit = 16 * 1024
    const flow = new InboundFlow(limit, control)
    const frameBytes = 300
    const framesPerChunk = Math.floor((64 * 1024) / frameBytes)
    const queue: Array<number> = []
    let peak = 0
    let delivered = 0
    // The socket delivers whole chunks while it is read; the handler answers one frame per step.
    while (delivered < 100_000) {
      if (!flow.isPaused) {
        for (let i = 0; i < framesPerChunk; i++) {
          flow.received(frameBytes)
          queue.push(frameBytes)
          delivered++
          peak = Math.max(peak, flow.pendingBytes)
        }
      }
      const next = queue.shift()
      if (next !== undefined) flow.answered(next)
    }
    expect(peak).toBeLessThanOrEqual(limit + framesPerChunk * frameBytes)
  })
})

describe("TypingWindows", () => {
  it("forwards one typing per user and room per interval, whichever socket sent it", () => {
    const windows = new TypingWindows(1_000)
    expect(windows.admit(user("u1"), room("r1"), 0)).toBe(true)
    expect(windows.admit(user("u1"), room("r1"), 999)).toBe(false)
    expect(windows.admit(user("u1"), room("r2"), 999)).toBe(true)
    expect(windows.admit(user("u2"), room("r1"), 999)).toBe(true)
    expect(windows.admit(user("u1"), room("r1"), 1_000)).toBe(true)
  })

  it("sweeps entries whose interval has passed, so the map does not grow with every user and room ever seen", () => {
    const windows = new TypingWindows(1_000)
    for (let i = 0; i < 5_000; i++) windows.admit(user(`u${i}`), room("r"), i * 10)
    // Only entries from the last interval (100 of them) can be live at the last sweep.
    expect(windows.size).toBeLessThan(2_048)
  })
})

describe("FrameBudget.takeMany", () => {
  it("takes all units or none; a request beyond the whole budget costs the whole window; 0 admits nothing", () => {
    const budget = new FrameBudget(10, 60_000)
    expect(budget.takeMany(4, 0)).toBe(0)
    expect(budget.takeMany(7, 1)).toBe(60)
    expect(budget.takeMany(6, 2)).toBe(0)
    expect(budget.take(3)).toBe(60)
    expect(budget.takeMany(25, 60_000)).toBe(0)
    expect(budget.take(60_001)).toBe(60)
    expect(new FrameBudget(0, 60_000).takeMany(0, 0)).toBe(60)
  })
})

describe("ConnectionLimits", () => {
  const settings = WsSettings.make({
    ...WsSettings.defaults,
    maxConnectionsPerUser: 2,
    maxConnectionsPerAddress: 3
  })

  it.effect("caps connections per user and per address, and frees a slot when its connection ends", () =>
    Effect.gen(function*() {
      const limits = yield* ConnectionLimits
      const admit = (userId: string, address: string) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          const admission = yield* limits.admit(user(userId), address).pipe(Scope.provide(scope))
          return { admission, close: Scope.close(scope, Exit.void) }
        })
      const first = yield* admit("u1", "10.0.0.1")
      expect(first.admission).toBe("admitted")
      expect((yield* admit("u1", "10.0.0.2")).admission).toBe("admitted")
      expect((yield* admit("u1", "10.0.0.3")).admission).toBe("user_connection_limit")
      expect((yield* admit("u2", "10.0.0.1")).admission).toBe("admitted")
      expect((yield* admit("u3", "10.0.0.1")).admission).toBe("admitted")
      expect((yield* admit("u4", "10.0.0.1")).admission).toBe("address_connection_limit")
      yield* first.close
      expect((yield* admit("u4", "10.0.0.1")).admission).toBe("admitted")
      expect((yield* admit("u1", "10.0.0.4")).admission).toBe("admitted")
    }).pipe(Effect.provide(ConnectionLimits.layer.pipe(Layer.provide(settings)))))
})
