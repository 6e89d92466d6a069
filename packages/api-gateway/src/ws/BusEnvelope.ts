/**
 * What gateways publish to each other on a room channel. The frame JSON is serialized once by
 * the publishing gateway and forwarded verbatim to every local socket; a one-line header in
 * front says what it is: a sequenced chat message, a room event, or a membership change.
 *
 *   m <seq> <room-id>\n<frame json>    a message frame with its room and seq (ordered, gap-checked);
 *                                      a receiver drops it when the room is not its channel's
 *   e <exclude-user-id or ->\n<json>   an ephemeral room event (typing, user_joined, …)
 *   k <user-id>\n                      that user left the room: unsubscribe their sockets
 */
export type BusEnvelope =
  | { readonly kind: "message"; readonly roomId: string; readonly seq: number; readonly json: string }
  | { readonly kind: "event"; readonly excludeUserId: string | undefined; readonly json: string }
  | { readonly kind: "kick"; readonly userId: string }

export const encodeEnvelope = (envelope: BusEnvelope): string => {
  switch (envelope.kind) {
    case "message":
      return `m ${envelope.seq} ${envelope.roomId}\n${envelope.json}`
    case "event":
      return `e ${envelope.excludeUserId ?? "-"}\n${envelope.json}`
    case "kick":
      return `k ${envelope.userId}\n`
  }
}

export const decodeEnvelope = (payload: string): BusEnvelope | undefined => {
  const newline = payload.indexOf("\n")
  if (newline < 3 || payload[1] !== " ") return undefined
  const arg = payload.slice(2, newline)
  const json = payload.slice(newline + 1)
  switch (payload[0]) {
    case "m": {
      const space = arg.indexOf(" ")
      if (space < 1) return undefined
      const seq = Number(arg.slice(0, space))
      const roomId = arg.slice(space + 1)
      return Number.isSafeInteger(seq) && seq > 0 && roomId.length > 0 ? { kind: "message", roomId, seq, json } : undefined
    }
    case "e":
      return { kind: "event", excludeUserId: arg === "-" ? undefined : arg, json }
    case "k":
      return { kind: "kick", userId: arg }
    default:
      return undefined
  }
}
