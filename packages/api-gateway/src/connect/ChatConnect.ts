/**
 * `pylon.chat.v1.ChatService` over Connect, unary calls: SendMessage as the WebSocket `message`
 * frame does it (ChatRpcs.SendMessage; delivery to subscribers goes through the outbox relay and
 * the room bus like every send), GetMessages as REST history (`history` budget per user).
 * SendMessage spends the `wsMessages` budget of the user's Connect lane (`connect:<user>`): there
 * is no REST send, and the WebSocket budget is per connection.
 * StreamMessages is not served yet (clients get `unimplemented`).
 */
import type { ServiceImpl } from "@connectrpc/connect"
import { Effect } from "effect"
import { ChatService as ChatServiceDesc } from "@pylon/proto-gen/chat/v1/chat"
import { ChatClient } from "../clients/ServiceClients.ts"
import { requireAuth } from "../http/AuthHttp.ts"
import { failWithHttpError, failWithRpcError } from "../http/HttpErrors.ts"
import { effectMethod, spendBudget } from "./ConnectBridge.ts"
import { ChatMapping } from "./ProtoMapping.ts"

export const chatServiceImpl: Partial<ServiceImpl<typeof ChatServiceDesc>> = {
  sendMessage: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("wsMessages", `connect:${claims.sub}`)
      const payload = yield* ChatMapping.sendMessageRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const chat = yield* ChatClient
      const result = yield* chat.SendMessage(payload).pipe(failWithRpcError)
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
  )
}
