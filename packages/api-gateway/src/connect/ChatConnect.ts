/**
 * `pylon.chat.v1.ChatService` over Connect. SendMessage as the WebSocket `message` frame does it:
 * ChatRpcs.SendMessage, then (for a new message, not a retry) the `message` envelope on the room
 * bus, so WebSocket sockets and Connect streams on every node get it at once (the outbox relay
 * only feeds the event log). GetMessages as REST history (`history` budget per user).
 * SendMessage spends the `wsMessages` budget of the user's Connect lane (`connect:<user>`): there
 * is no REST send, and the WebSocket budget is per connection.
 * StreamMessages is a live room stream with replay (MessageStream.ts).
 */
import type { ServiceImpl } from "@connectrpc/connect"
import { Duration, Effect, Stream } from "effect"
import { ChatService as ChatServiceDesc } from "@pylon/proto-gen/chat/v1/chat"
import { encodeServerFrame, messageFrame } from "@pylon/contracts/WsFrames"
import { ChatClient } from "../clients/ServiceClients.ts"
import { requireAuth } from "../http/Authentication.ts"
import { failWithHttpError, failWithRpcError } from "../http/HttpErrors.ts"
import { RoomFanout } from "../ws/RoomFanout.ts"
import { effectMethod, effectServerStream, spendBudget } from "./ConnectBridge.ts"
import { streamMessages } from "./MessageStream.ts"
import { ChatMapping } from "./ProtoMapping.ts"

/** A publish that takes longer is given up (a lost publish is filled from history by the receivers). */
const PUBLISH_DEADLINE = Duration.seconds(10)

export const chatServiceImpl: ServiceImpl<typeof ChatServiceDesc> = {
  sendMessage: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("wsMessages", `connect:${claims.sub}`)
      const payload = yield* ChatMapping.sendMessageRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const chat = yield* ChatClient
      const result = yield* chat.SendMessage(payload).pipe(failWithRpcError)
      if (result.created) {
        yield* (yield* RoomFanout).publish(result.message.room_id, {
          kind: "message",
          roomId: result.message.room_id,
          seq: result.message.seq,
          json: encodeServerFrame(messageFrame(result.message))
        }).pipe(Effect.timeoutOption(PUBLISH_DEADLINE))
      }
      return ChatMapping.sendMessageResponseToProto(result)
    })
  ),
  getMessages: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("history", claims.sub)
      const payload = yield* ChatMapping.getMessagesRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const chat = yield* ChatClient
      const page = yield* chat.GetMessages(payload).pipe(failWithRpcError)
      return ChatMapping.getMessagesResponseToProto(page)
    })
  ),
  streamMessages: effectServerStream((request) =>
    Stream.unwrap(Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* ChatMapping.streamMessagesRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      return streamMessages(payload, claims)
    }))
  )
}
