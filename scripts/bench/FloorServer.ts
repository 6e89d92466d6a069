/**
 * `node scripts/bench/FloorServer.ts <port>`: the bare `ws` broadcast server the benchmark runs
 * next to Pylon as the floor (issue #10): the least a WebSocket chat server can do for the same
 * client and the same frames — no auth, no storage, no bus, in one process. It speaks just
 * enough of Pylon's protocol for the benchmark's client: `join` → `user_joined` (with
 * `last_seq`), `message` → `ack` to the sender and the `message` frame, serialised once, to
 * every socket joined to the room (sender included), with a per-room `seq`. Frames are parsed
 * with `JSON.parse`, as any real server must. Prints `listening <port>` when ready.
 */
import { WebSocketServer } from "ws"
import type { WebSocket } from "ws"

const port = Number(process.argv[2] ?? 0)
const rooms = new Map<string, { seq: number; readonly sockets: Set<WebSocket> }>()

const roomOf = (id: string) => {
  let room = rooms.get(id)
  if (room === undefined) {
    room = { seq: 0, sockets: new Set() }
    rooms.set(id, room)
  }
  return room
}

const text = (value: unknown): string => typeof value === "string" ? value : ""

// The same accept backlog as Pylon's servers (platform http/HttpServerLive.ts LISTEN_BACKLOG), so the floor stays comparable.
const server = new WebSocketServer({ port, host: "127.0.0.1", perMessageDeflate: false, backlog: 4096 })
server.on("connection", (ws) => {
  const joined = new Set<string>()
  ws.on("message", (data, isBinary) => {
    if (isBinary) return
    let frame: unknown
    try {
      frame = JSON.parse((Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)])).toString("utf8"))
    } catch {
      return
    }
    if (typeof frame !== "object" || frame === null || !("type" in frame) || !("room_id" in frame)) return
    const roomId = text(frame.room_id)
    const room = roomOf(roomId)
    if (frame.type === "join") {
      room.sockets.add(ws)
      joined.add(roomId)
      ws.send(JSON.stringify({ type: "user_joined", room_id: roomId, user_id: "floor", last_seq: room.seq }))
    } else if (frame.type === "message" && "content" in frame && "client_msg_id" in frame) {
      const seq = ++room.seq
      const clientMsgId = text(frame.client_msg_id)
      ws.send(JSON.stringify({ type: "ack", client_msg_id: clientMsgId, room_id: roomId, seq }))
      const out = JSON.stringify({
        type: "message",
        room_id: roomId,
        seq,
        content: text(frame.content),
        client_msg_id: clientMsgId,
        created_at: new Date().toISOString()
      })
      for (const socket of room.sockets) socket.send(out)
    }
  })
  ws.on("close", () => {
    for (const roomId of joined) rooms.get(roomId)?.sockets.delete(ws)
  })
})
server.on("listening", () => {
  const address = server.address()
  console.log(`listening ${typeof address === "object" && address !== null ? address.port : port}`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
