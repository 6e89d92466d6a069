/**
 * What gateways publish to each other on a room channel. The frame JSON is serialized once by
 * the publishing gateway and forwarded verbatim to every local socket; a one-line header in
 * front says what it is: a sequenced chat message, a room event, or a membership change.
 *
 *   m <seq>\n<frame json>              a message frame with its room seq (ordered, gap-checked)
 *   e <exclude-user-id or ->\n<json>   an ephemeral room event (typing, user_joined, …)
 *   k <user-id>\n                      that user left the room: unsubscribe their sockets
 */
export type BusEnvelope =
  | { readonly kind: "message"; readonly seq: number; readonly json: string }
  | { readonly kind: "event"; readonly excludeUserId: string | undefined; readonly json: string }
  | { readonly kind: "kick"; readonly userId: string }

export const encodeEnvelope = (envelope: BusEnvelope): string => {
  switch (envelope.kind) {
    case "message":
      return `m ${envelope.seq}\n${envelope.json}`
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
      const seq = Number(arg)
      return Number.isSafeInteger(seq) && seq > 0 ? { kind: "message", seq, json } : undefined
    }
    case "e":
      return { kind: "event", excludeUserId: arg === "-" ? undefined : arg, json }
    case "k":
      return { kind: "kick", userId: arg }
    default:
      return undefined
  }
}
