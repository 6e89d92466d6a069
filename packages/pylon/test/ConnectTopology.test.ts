/**
 * The Connect surface in the microservice topology (issue #8, CONNECT-COMPAT.md): room, chat,
 * presence and notification services and two gateways as separate processes on the real
 * PostgreSQL, Redis and Kafka (support/TopologyStack.ts), called by a client of the ORIGINAL
 * protos (the frozen image, no Pylon field known; support/OriginalConnectFlow.ts) through either
 * gateway in all four protocols (Connect JSON, Connect binary, gRPC-Web over HTTP/1.1, gRPC over
 * HTTP/2 cleartext):
 *
 * - the unary flow: register, log in, create/list/join a room, send a message, read the history,
 *   then read the mention notification the notification service made of that message (chat
 *   service → outbox → Kafka → notification service) and mark it read;
 * - the streams across nodes (rule 6): StreamMessages and StreamPresence opened on one gateway get
 *   the messages sent and the typing done over a WebSocket on the OTHER gateway, and a SendMessage
 *   on the stream's gateway reaches that WebSocket.
 */
import { describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { connectProtocols } from "@pylon/testkit/ConnectProtocols"
import { originalStreamsFlow, originalUnaryFlow } from "./support/OriginalConnectFlow.ts"
import { Topology, TopologyStack } from "./support/TopologyStack.ts"

const GATEWAYS = [["A", 0, 1], ["B", 1, 0]] as const

layer(TopologyStack(), { excludeTestServices: true, timeout: "180 seconds" })("Connect in the microservice topology", (it) => {
  for (const [name, self, other] of GATEWAYS) {
    describe(`a client of the original protos on gateway ${name}`, () => {
      for (const [protocol, transport] of connectProtocols) {
        it.effect(`${protocol}: streams get messages and typing from a WebSocket on the other gateway; SendMessage reaches it`, () =>
          Effect.gen(function*() {
            const { gateways } = yield* Topology
            yield* originalStreamsFlow({
              wsBaseUrl: gateways[other].baseUrl,
              streamTransport: transport(gateways[self].baseUrl)
            })
          }), { timeout: 90_000 })

        it.effect(`${protocol}: register, log in, rooms, send, history, notifications, mark read`, () =>
          Effect.gen(function*() {
            const { gateways } = yield* Topology
            yield* originalUnaryFlow(transport(gateways[self].baseUrl), `${name} ${protocol}`)
          }), { timeout: 180_000 })
      }
    })
  }
})
