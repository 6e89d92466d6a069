/**
 * `coalesceWritesPerTick`: what a writer we do not control (`ws`) writes to a socket in one
 * event-loop turn reaches the stream's underlying write as one batch, in order; writes of later
 * turns are batches of their own, and the writer's own cork/uncork pairs do not release early.
 * In process, on a stream that records each batch Node hands it (`_writev`, or `_write`).
 */
import { Writable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { coalesceWritesPerTick } from "../../src/net/TickCoalescedWrites.ts"

const nextTick = Effect.promise(() => new Promise<void>((resolve) => process.nextTick(resolve)))
const immediate = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

class RecordingStream extends Writable {
  readonly batches: Array<ReadonlyArray<string>> = []

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.batches.push([chunk.toString("utf8")])
    callback()
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.batches.push(chunks.map(({ chunk }) => chunk.toString("utf8")))
    callback()
  }
}

const coalesced = () => {
  const stream = new RecordingStream()
  coalesceWritesPerTick(stream)
  return stream
}

describe("coalesceWritesPerTick", () => {
  it.effect("a turn's writes leave as one batch, in order; a later turn's as another", () =>
    Effect.gen(function*() {
      const stream = coalesced()
      for (const text of ["a", "b", "c", "d"]) stream.write(text)
      expect(stream.batches).toEqual([])
      yield* nextTick
      expect(stream.batches).toEqual([["a", "b", "c", "d"]])
      yield* immediate
      stream.write("e")
      stream.write("f")
      yield* nextTick
      expect(stream.batches).toEqual([["a", "b", "c", "d"], ["e", "f"]])
    }))

  it.effect("the writer's own cork/uncork around a frame does not release the turn's batch early", () =>
    Effect.gen(function*() {
      const stream = coalesced()
      for (const frame of [["h1", "p1"], ["h2", "p2"]]) {
        stream.cork()
        for (const part of frame) stream.write(part)
        stream.uncork()
      }
      expect(stream.batches).toEqual([])
      yield* nextTick
      expect(stream.batches).toEqual([["h1", "p1", "h2", "p2"]])
    }))

  it.effect("without it, the same writes are handed over one by one", () =>
    Effect.gen(function*() {
      const stream = new RecordingStream()
      for (const text of ["a", "b", "c"]) stream.write(text)
      yield* nextTick
      expect(stream.batches.length).toBeGreaterThan(1)
    }))
})
