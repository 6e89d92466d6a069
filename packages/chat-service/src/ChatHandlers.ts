/**
 * The chat RPC handlers (`ChatRpcs`): each RPC is one `ChatService` call. `InternalAuth` has
 * already verified the calling service, so the payload's `user_id` is trusted. The same layer
 * serves `/rpc` and in-process callers (embedded mode, tests).
 */
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { Effect } from "effect"
import { ChatService } from "./ChatService.ts"

export const ChatHandlersLive = ChatRpcs.toLayer(
  Effect.map(ChatService, (chat) =>
    ChatRpcs.of({
      SendMessage: (payload) => chat.send(payload),
      GetMessages: (payload) => chat.getMessages(payload),
      GetMessagesJson: (payload) => chat.getMessagesJson(payload),
      StreamMessages: (payload) => chat.streamMessages(payload)
    }))
)
