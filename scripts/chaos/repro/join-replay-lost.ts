/**
 * Reproduction of a chaos finding (not part of the suite): a `join` with since_seq whose replay
 * fails after the gateway sent `user_joined` drops the subscription without telling the client
 * which room: an UNAVAILABLE error without ref follows, the room's messages never arrive, and
 * sends to it get NOT_JOINED.
 *   source .pylon/infra/env.sh && node scripts/chaos/repro/join-replay-lost.ts
 */
import { Effect } from "effect"
import { connect, messageSeqs, reproSetup, runRepro } from "./ReproSupport.ts"

void runRepro(Effect.gen(function*() {
  const { stack, a, b, room } = yield* reproSetup
  const gateway = stack.gateways[1].baseUrl
  const joiner = yield* connect(gateway, a.token, "A")
  const other = yield* connect(gateway, b.token, "B")
  other.send({ type: "join", room_id: room, since_seq: 0 })
  yield* Effect.sleep("1 second")
  console.log("--- chat service killed; A joins with since_seq=0 (the room service is up)")
  yield* stack.services.chat.kill("SIGKILL")
  joiner.send({ type: "join", room_id: room, since_seq: 0 })
  yield* Effect.sleep("3 seconds")
  console.log("--- chat service back; B sends, then A sends")
  yield* stack.services.chat.restart
  other.send({ type: "message", room_id: room, content: "hello from B", client_msg_id: "b-1" })
  yield* Effect.sleep("2 seconds")
  joiner.send({ type: "message", room_id: room, content: "hello from A", client_msg_id: "a-1" })
  yield* Effect.sleep("2 seconds")
  console.log(`A received seqs ${JSON.stringify(messageSeqs(joiner.frames))} (history has [1] after B's send)`)
  console.log(`A's send answered: ${joiner.frames.filter((f) => f.includes('"a-1"')).join(" ")}`)
  joiner.close()
  other.close()
}))
