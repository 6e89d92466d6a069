/**
 * Fan-out writes (issue #10): a frame is encoded once for all its recipients (`OutgoingFrame`,
 * its WebSocket bytes built once and shared), and a socket's frames written in one tick leave in
 * one system call (`platform/net/TickCoalescedWrites.ts`) — in order, bounded by the outbound queue's high-water
 * mark, and without a slow socket holding back anyone else.
 *
 * In process: streams that record each batch Node hands them (`_writev`, or `_write` for a
 * single chunk), and a real `ws` server and client for the bytes on the wire.
 */
import type { Socket } from "node:net"
import { Writable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import { OutboundBuffer } from "../src/ws/OutboundBuffer.ts"
import type { FrameWriter } from "../src/ws/OutboundBuffer.ts"
import { OutgoingFrame, textFrameBytes } from "../src/ws/OutgoingFrame.ts"
import { wsSessionSocket } from "../src/ws/SessionSocket.ts"
import { CoalescingWriter } from "@pylon/platform/net/TickCoalescedWrites"

/** The end of the current tick: every socket corked in it has been released. */
const nextTick = Effect.promise(() => new Promise<void>((resolve) => process.nextTick(resolve)))
/** A later turn of the event loop. */
const immediate = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** A stream that records the batches it is handed; a slow one never finishes writing them. */
class RecordingStream extends Writable {
  readonly batches: Array<ReadonlyArray<string>> = []
  private readonly slow: boolean

  constructor(slow: boolean) {
    super({ highWaterMark: 1 << 30 })
    this.slow = slow
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.record([chunk], callback)
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.record(chunks.map(({ chunk }) => chunk), callback)
  }

  private record(chunks: ReadonlyArray<Buffer>, callback: () => void) {
    // Each chunk is one whole frame: strip the 2-byte header (payloads here are < 126 bytes).
    this.batches.push(chunks.map((chunk) => chunk.subarray(2).toString("utf8")))
    if (!this.slow) callback()
  }

  get frames(): ReadonlyArray<string> {
    return this.batches.flat()
  }
}

/** A session's writer on `stream`, the way `wsSessionSocket` writes. */
const writerOn = (stream: RecordingStream): FrameWriter => {
  const writer = new CoalescingWriter(stream)
  return {
    isOpen: true,
    get bufferedAmount() {
      return stream.writableLength
    },
    write: (frame) => writer.write(frame.wire)
  }
}

const frames = (from: number, count: number) => Array.from({ length: count }, (_, i) => `frame-${from + i}`)

describe("OutgoingFrame", () => {
  it("is the payload behind a 2-, 4- or 10-byte text-frame header, built once", () => {
    for (const [length, header] of [[0, 2], [125, 2], [126, 4], [65_535, 4], [65_536, 10]] as const) {
      const text = "x".repeat(length)
      const bytes = textFrameBytes(text)
      expect(bytes.length).toBe(header + length)
      expect(bytes[0]).toBe(0x81)
      const declared = header === 2 ? bytes[1] : header === 4 ? bytes.readUInt16BE(2) : Number(bytes.readBigUInt64BE(2))
      expect(bytes[1]).toBe(header === 2 ? length : header === 4 ? 126 : 127)
      expect(declared).toBe(length)
      expect(bytes.subarray(header).toString("utf8")).toBe(text)
    }
    const frame = new OutgoingFrame("{\"content\":\"ü€😀\"}")
    expect(frame.wire).toBe(frame.wire)
    expect(frame.wire.length).toBe(2 + Buffer.byteLength(frame.json))
  })
})

describe("write coalescing", () => {
  it.effect("a socket's frames of one tick leave in one write, in order; the next tick's in the next", () =>
    Effect.gen(function*() {
      const stream = new RecordingStream(false)
      const writer = writerOn(stream)
      for (const text of frames(1, 5)) writer.write(new OutgoingFrame(text))
      expect(stream.batches).toEqual([])
      yield* nextTick
      for (const text of frames(6, 2)) writer.write(new OutgoingFrame(text))
      yield* immediate
      expect(stream.batches).toEqual([frames(1, 5), frames(6, 2)])
    }))

  it.effect("one batch per socket, however many sockets a tick wrote to", () =>
    Effect.gen(function*() {
      const streams = Array.from({ length: 3 }, () => new RecordingStream(false))
      const writers = streams.map(writerOn)
      for (const text of frames(1, 4)) {
        const frame = new OutgoingFrame(text)
        for (const writer of writers) writer.write(frame)
      }
      yield* immediate
      for (const stream of streams) expect(stream.batches).toEqual([frames(1, 4)])
    }))

  it.effect("a slow socket is bounded by its outbound queue and does not hold back the others", () =>
    Effect.gen(function*() {
      const capacity = 16
      const highWaterBytes = 200
      const slowStream = new RecordingStream(true)
      const fastStream = new RecordingStream(false)
      const slow = new OutboundBuffer(writerOn(slowStream), capacity, highWaterBytes)
      const fast = new OutboundBuffer(writerOn(fastStream), capacity, highWaterBytes)
      const sent = frames(1, 200)
      let refusedAt: number | undefined
      for (const [i, text] of sent.entries()) {
        const frame = new OutgoingFrame(text)
        if (!slow.offer(frame)) refusedAt ??= i
        expect(fast.offer(frame)).toBe(true)
        // A few frames per tick, as fan-out of a busy room produces them.
        if (i % 4 === 3) yield* immediate
        // The slow socket holds at most one frame past its high-water mark.
        expect(slowStream.writableLength).toBeLessThanOrEqual(highWaterBytes + textFrameBytes(text).length)
      }
      yield* immediate
      // The fast socket got every frame, in order, a tick's frames per write.
      expect(fastStream.frames).toEqual(sent)
      expect(fastStream.batches.length).toBe(sent.length / 4)
      // The slow one took what fit under the high-water mark, then queued `capacity`, then refused.
      expect(refusedAt).toBeDefined()
      expect(slow.size).toBe(capacity)
      expect(slowStream.frames).toEqual(sent.slice(0, slowStream.frames.length))
    }))

  it.effect("frames queued behind a full socket buffer keep their place ahead of later ones", () =>
    Effect.gen(function*() {
      let buffered = 1_000
      const written: Array<string> = []
      const buffer = new OutboundBuffer({
        isOpen: true,
        get bufferedAmount() {
          return buffered
        },
        write: (frame) => void written.push(frame.json)
      }, 8, 100)
      for (const text of frames(1, 3)) expect(buffer.offer(new OutgoingFrame(text))).toBe(true)
      expect(written).toEqual([])
      buffered = 0
      expect(buffer.offer(new OutgoingFrame("frame-4"))).toBe(true)
      expect(written).toEqual(frames(1, 4))
      buffer.dispose()
    }))
})

describe("a ws connection written through wsSessionSocket", () => {
  it.live("the client reads every frame intact and in order, ws's own ping in its place, one write per tick", () =>
    Effect.gen(function*() {
      const server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
      yield* Effect.promise(() => new Promise<void>((resolve) => server.once("listening", () => resolve())))
      const address = server.address()
      if (typeof address !== "object" || address === null) return yield* Effect.die(new Error("no port"))
      const accepted = new Promise<{ ws: WebSocket; stream: Socket }>((resolve) =>
        server.once("connection", (ws, request) => resolve({ ws, stream: request.socket }))
      )
      const client = new WebSocket(`ws://127.0.0.1:${address.port}`)
      yield* Effect.addFinalizer(() => Effect.sync(() => client.terminate()))
      const received: Array<string> = []
      client.on("message", (data, isBinary) => {
        if (!isBinary && Buffer.isBuffer(data)) received.push(data.toString("utf8"))
      })
      client.on("ping", () => void received.push("(ping)"))
      const { stream, ws } = yield* Effect.promise(() => accepted)
      let syscalls = 0
      const writev = stream._writev?.bind(stream)
      const write = stream._write.bind(stream)
      stream._writev = (chunks, callback) => {
        syscalls++
        writev?.(chunks, callback)
      }
      stream._write = (chunk, encoding, callback) => {
        syscalls++
        write(chunk, encoding, callback)
      }
      const socket = wsSessionSocket(ws, stream)

      const texts = ["", "é", "x".repeat(125), "y".repeat(126), "z".repeat(65_535), "w".repeat(70_000)]
      socket.write(new OutgoingFrame(texts[0] ?? ""))
      socket.ping()
      for (const text of texts.slice(1)) socket.write(new OutgoingFrame(text))
      yield* immediate
      expect(syscalls).toBe(1)
      const expected = [texts[0], "(ping)", ...texts.slice(1)]
      const deadline = Date.now() + 30_000
      while (received.length < expected.length && Date.now() < deadline) yield* Effect.sleep("10 millis")
      expect(received).toEqual(expected)
    }).pipe(Effect.scoped))
})
