/**
 * The frame pipeline of one WebSocket connection: frames are submitted in arrival order and
 * handled concurrently, at most `maxInFlight` unanswered at once (the next submit waits, and with
 * it the socket's reader). Frames in the same lane (the session uses the room id) start one after
 * another in arrival order, so a room's sends commit in the order they were sent while other
 * rooms' sends proceed; and every frame's replies leave in arrival order: a handler writes only
 * after its `turn`, which comes once every earlier frame has been answered (ADR 0004).
 */
import { Deferred, Effect, FiberSet, Semaphore } from "effect"

export interface FrameStep {
  /** Waits until every earlier frame of the connection has been answered; write replies after it. */
  readonly turn: Effect.Effect<void>
  /** Lets the next frame of this lane start before this one has replied (a send, once committed). */
  readonly releaseLane: Effect.Effect<void>
}

export interface FramePipeline {
  /**
   * Starts `handle` for the next frame once fewer than `maxInFlight` frames are unanswered and
   * returns (it does not wait for the handler). `onAnswered` runs when the frame has been
   * answered, or dropped with the connection.
   */
  readonly submit: (
    lane: string | undefined,
    handle: (step: FrameStep) => Effect.Effect<void>,
    onAnswered: () => void
  ) => Effect.Effect<void>
  /** Interrupts every handler (the connection is closing). */
  readonly shutdown: Effect.Effect<void>
}

export const makeFramePipeline = Effect.fnUntraced(function*(maxInFlight: number) {
  const permits = yield* Semaphore.make(Math.max(1, maxInFlight))
  const handlers = yield* FiberSet.make<void, never>()
  let lastAnswered = Deferred.makeUnsafe<void>()
  Deferred.doneUnsafe(lastAnswered, Effect.void)
  const laneTails = new Map<string, Deferred.Deferred<void>>()

  const submit = (lane: string | undefined, handle: (step: FrameStep) => Effect.Effect<void>, onAnswered: () => void) =>
    Effect.gen(function*() {
      yield* permits.take(1)
      const previous = lastAnswered
      const answered = Deferred.makeUnsafe<void>()
      lastAnswered = answered
      const ahead = lane === undefined ? undefined : laneTails.get(lane)
      const laneDone = Deferred.makeUnsafe<void>()
      if (lane !== undefined) laneTails.set(lane, laneDone)
      const releaseLaneUnsafe = () => {
        Deferred.doneUnsafe(laneDone, Effect.void)
        if (lane !== undefined && laneTails.get(lane) === laneDone) laneTails.delete(lane)
      }
      const releaseLane = Effect.sync(releaseLaneUnsafe)
      const turn = Deferred.await(previous)
      const run = Effect.gen(function*() {
        if (ahead !== undefined) yield* Deferred.await(ahead)
        // A defect in one handler must not stall the frames after it.
        yield* Effect.exit(handle({ turn, releaseLane }))
        releaseLaneUnsafe()
        yield* turn
      }).pipe(
        Effect.ensuring(Effect.suspend(() => {
          releaseLaneUnsafe()
          Deferred.doneUnsafe(answered, Effect.void)
          onAnswered()
          return permits.release(1)
        }))
      )
      yield* FiberSet.run(handlers, run)
    })

  const pipeline: FramePipeline = { submit, shutdown: FiberSet.clear(handlers) }
  return pipeline
})
