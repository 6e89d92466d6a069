/**
 * `node scripts/bench/fanout-write-micro.ts [sockets] [rooms] [messages] [burst]`: the gateway's
 * fan-out write path alone, old against new, in one process, measured in the server's own CPU
 * time (so a busy machine slows it down but does not change the figure much).
 *
 * A `ws` server takes `sockets` connections from a child process (the clients, which count what
 * they get) spread over `rooms`; then `messages` message frames (the size of a 64-byte message
 * frame) are fanned out to their room, `burst` messages per turn of the event loop (1 = every
 * message alone, as at a low rate; more = several messages arriving together, as from a busy
 * bus). Each delivery goes through the session's real `OutboundBuffer`; what differs is the
 * writer behind it:
 *
 * - `ws.send`: the writer before issue #10's fan-out work — `ws.send(json)` per socket (UTF-8
 *   encoding, a header and a two-chunk `writev` per frame per socket), which is also what the
 *   bare `ws` floor server does;
 * - `shared`: `wsSessionSocket` — one `OutgoingFrame` per message, its bytes built once and
 *   written to every socket, the writes of one tick coalesced per socket (`platform/net/TickCoalescedWrites.ts`).
 *
 * Modes alternate for `rounds` rounds; the output is CPU µs per delivery for each and the ratio.
 */
import { fork } from "node:child_process"
import type { Socket } from "node:net"
import { WebSocket, WebSocketServer } from "ws"
import { OutboundBuffer } from "../../packages/api-gateway/src/ws/OutboundBuffer.ts"
import type { FrameWriter } from "../../packages/api-gateway/src/ws/OutboundBuffer.ts"
import { OutgoingFrame } from "../../packages/api-gateway/src/ws/OutgoingFrame.ts"
import { wsSessionSocket } from "../../packages/api-gateway/src/ws/SessionSocket.ts"

const QUEUE = 1_000
const HIGH_WATER = 1 << 20
const ROUNDS = 3

const argument = (index: number, fallback: number) => {
  const value = Number(process.argv[index])
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const runClients = (port: number, count: number) => {
  let received = 0
  let opened = 0
  for (let i = 0; i < count; i++) {
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    socket.on("open", () => {
      if (++opened === count) process.send?.({ opened })
    })
    socket.on("message", () => {
      received++
    })
  }
  process.on("message", () => process.send?.({ received }))
}

const frameOf = (room: number, seq: number) =>
  JSON.stringify({
    type: "message",
    room_id: `0190f0a0-0000-7000-8000-${String(room).padStart(12, "0")}`,
    seq,
    sender_id: "0190f0a0-0000-7000-8000-000000000001",
    sender_username: "bench-user",
    content: "x".repeat(64),
    client_msg_id: "0190f0a0-0000-7000-8000-000000000002",
    created_at: new Date().toISOString()
  })

const server = async () => {
  const sockets = argument(2, 1_000)
  const rooms = argument(3, 10)
  const messages = argument(4, 2_000)
  const burst = argument(5, 1)
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()))
  const address = wss.address()
  if (typeof address !== "object" || address === null) throw new Error("no port")
  const accepted: Array<{ readonly ws: WebSocket; readonly stream: Socket }> = []
  wss.on("connection", (ws, request) => void accepted.push({ ws, stream: request.socket }))
  const child = fork(import.meta.filename, ["--client", String(address.port), String(sockets)])
  /** How many frames the clients have received so far. */
  const ask = (): Promise<number> =>
    new Promise((resolve) => {
      child.once("message", (reply) =>
        resolve(typeof reply === "object" && reply !== null && "received" in reply && typeof reply.received === "number" ? reply.received : 0))
      child.send("count")
    })
  await new Promise<void>((resolve) => child.once("message", () => resolve()))

  const writers: Record<"ws.send" | "shared", ReadonlyArray<FrameWriter>> = {
    "ws.send": accepted.map(({ ws }) => ({
      get isOpen() {
        return ws.readyState === ws.OPEN
      },
      get bufferedAmount() {
        return ws.bufferedAmount
      },
      write: (frame: OutgoingFrame) => ws.send(frame.json)
    })),
    shared: accepted.map(({ stream, ws }) => wsSessionSocket(ws, stream))
  }
  const totals: Record<string, { cpuUs: number; deliveries: number }> = {}
  let seq = 0
  let expected = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ["ws.send", "shared"] as const) {
      const buffers = writers[mode].map((writer) => new OutboundBuffer(writer, QUEUE, HIGH_WATER))
      const members = Array.from({ length: rooms }, (_, room) => buffers.filter((_, i) => i % rooms === room))
      const start = process.cpuUsage()
      for (let sent = 0; sent < messages; sent += burst) {
        for (let k = 0; k < burst && sent + k < messages; k++) {
          const room = (sent + k) % rooms
          const frame = new OutgoingFrame(frameOf(room, ++seq))
          for (const buffer of members[room] ?? []) buffer.offer(frame)
          expected += members[room]?.length ?? 0
        }
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      while (buffers.some((buffer) => buffer.size > 0)) await new Promise<void>((resolve) => setTimeout(resolve, 5))
      const used = process.cpuUsage(start)
      const deliveries = messages * (sockets / rooms)
      const total = totals[mode] ?? { cpuUs: 0, deliveries: 0 }
      totals[mode] = { cpuUs: total.cpuUs + used.user + used.system, deliveries: total.deliveries + deliveries }
      let received = 0
      const deadline = Date.now() + 60_000
      while (received < expected && Date.now() < deadline) {
        received = await ask()
        if (received < expected) await new Promise<void>((resolve) => setTimeout(resolve, 50))
      }
      if (received < expected) throw new Error(`${mode}: ${expected - received} deliveries missing`)
    }
  }
  const perDelivery = (mode: string) => (totals[mode]?.cpuUs ?? Number.NaN) / (totals[mode]?.deliveries ?? Number.NaN)
  console.log(JSON.stringify({
    sockets,
    rooms,
    messages,
    burst,
    rounds: ROUNDS,
    cpuUsPerDelivery: { "ws.send": perDelivery("ws.send"), shared: perDelivery("shared") },
    ratio: perDelivery("shared") / perDelivery("ws.send"),
    loadAverage: (await import("node:os")).loadavg()[0]
  }))
  child.kill()
  wss.close()
  for (const { ws } of accepted) ws.terminate()
}

if (process.argv[2] === "--client") runClients(Number(process.argv[3]), Number(process.argv[4]))
else await server()
