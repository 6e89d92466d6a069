/**
 * The chat RPC handlers: each RPC is one `ChatService` call. `InternalAuth` has already
 * verified the calling service, so the payload's `user_id` is trusted.
 * - `ChatHandlersLive` (`ChatRpcs`): in-process callers (embedded mode, tests), `GetMessages`
 *   answering decoded `Message`s.
 * - `ChatPassThroughHandlersLive` (`ChatRpcsPassThrough`): what `/rpc` serves, `GetMessages`
 *   answering the page as PostgreSQL built it; the same wire as `ChatRpcs` (docs/perf.md §8).
 */
import { ChatRpcs, ChatRpcsPassThrough } from "@pylon/contracts/ChatRpcs"
import { Effect } from "effect"
import { ChatService } from "./ChatService.ts"
import type { SendMessageInput, StreamMessagesInput } from "./ChatService.ts"

/** The handlers both groups share. */
const sendAndStream = (chat: ChatService["Service"]) => ({
  SendMessage: (payload: SendMessageInput) => chat.send(payload),
  StreamMessages: (payload: StreamMessagesInput) => chat.streamMessages(payload)
})

export const ChatHandlersLive = ChatRpcs.toLayer(
  Effect.map(ChatService, (chat) =>
    ChatRpcs.of({ ...sendAndStream(chat), GetMessages: (payload) => chat.getMessages(payload) }))
)

export const ChatPassThroughHandlersLive = ChatRpcsPassThrough.toLayer(
  Effect.map(ChatService, (chat) =>
    ChatRpcsPassThrough.of({ ...sendAndStream(chat), GetMessages: (payload) => chat.getMessagesPage(payload) }))
)
