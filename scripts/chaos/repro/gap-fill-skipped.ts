/**
 * Reproduction of a chaos finding (not part of the suite): RoomFanout delivers a newer message
 * after a failed gap fill, so the messages in the gap never reach that node's sockets.
 * S listens on gateway 1 (its chat link is proxied); A sends on gateway 2 (its Redis link is
 * proxied). Prints the seqs S received; history has 1, 2, 3.
 *   source .pylon/infra/env.sh && node scripts/chaos/repro/gap-fill-skipped.ts
 */
import { Effect } from "effect"
import { connect, messageSeqs, reproSetup, runRepro } from "./ReproSupport.ts"

void runRepro(Effect.gen(function*() {
  const { stack, a, b, room } = yield* reproSetup
  const [gateway1, gateway2] = stack.gateways
  const s = yield* connect(gateway1.baseUrl, b.token, "S@gateway-1")
  const sender = yield* connect(gateway2.baseUrl, a.token, "A@gateway-2")
  s.send({ type: "join", room_id: room, since_seq: 0 })
  sender.send({ type: "join", room_id: room, since_seq: 0 })
  yield* Effect.sleep("1 second")
  const send = (id: string) => sender.send({ type: "message", room_id: room, content: `message ${id}`, client_msg_id: id })
  console.log("--- gateway 2 cannot reach Redis: seq 1 is acked, its publish is lost")
  yield* stack.redisProxy.drop
  send("m1")
  yield* Effect.sleep("6 seconds")
  yield* stack.redisProxy.heal
  yield* Effect.sleep("3 seconds")
  console.log("--- gateway 1 cannot reach the chat service when seq 2 arrives over the bus (gap → fill fails)")
  yield* stack.chatProxy.drop
  send("m2")
  yield* Effect.sleep("3 seconds")
  yield* stack.chatProxy.heal
  console.log("--- healthy again: seq 3")
  send("m3")
  yield* Effect.sleep("3 seconds")
  console.log(`S received seqs ${JSON.stringify(messageSeqs(s.frames))}; history has [1,2,3]`)
  s.close()
  sender.close()
}))
