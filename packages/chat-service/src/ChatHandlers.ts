/**
 * The `ChatRpcs` handlers: each RPC is one `ChatService` call. `InternalAuth` has already
 * verified the calling service, so the payload's `user_id` is trusted.
 */
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { Effect } from "effect"
import { ChatService } from "./ChatService.ts"

export const ChatHandlersLive = ChatRpcs.toLayer(
  Effect.gen(function*() {
    const chat = yield* ChatService
    return ChatRpcs.of({
      SendMessage: (payload) => chat.send(payload),
      GetMessages: (payload) => chat.getMessages(payload),
      StreamMessages: (payload) => chat.streamMessages(payload)
    })
  })
)
