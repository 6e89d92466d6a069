/**
 * Message history of API.md §5: `GET /api/v1/rooms/{id}/messages?limit=&before_id=&after_seq=`.
 * Authenticates the caller, spends one `history` rate-limit hit keyed by user id, decodes the
 * room id and query with the contract Schemas (limit default 50, clamped to 100; bad input is
 * 400), and asks the chat service for the page. Over the network (`ChatPageClient`, microservice
 * mode) the page arrives in its wire form, shape-checked only, and is written as it came
 * (docs/perf.md §8); in process (`ChatClient` only) it is the decoded page, encoded here.
 */
import { Effect, Option } from "effect"
import { RoomId } from "@pylon/contracts/Ids"
import { GetMessagesQuery, MessagesResponse } from "@pylon/contracts/Messages"
import { respondOk, respondWith } from "@pylon/platform/http/HttpEnvelope"
import { decodePathParam, decodeQuery } from "@pylon/platform/http/HttpRequestDecoding"
import { ChatClient, ChatPageClient } from "../clients/ServiceClients.ts"
import { authenticatedResource, CurrentUser } from "./Authentication.ts"
import { failWithRpcError } from "./HttpErrors.ts"
import { withRateLimit } from "./RateLimitGuard.ts"

export const MessagesRoutes = authenticatedResource("/api/v1/rooms/:id/messages", {
  GET: Effect.gen(function*() {
    const claims = yield* CurrentUser
    return yield* withRateLimit("history", claims.sub)(Effect.gen(function*() {
      const roomId = yield* decodePathParam("id", RoomId)
      const query = yield* decodeQuery(GetMessagesQuery)
      const payload = { user_id: claims.sub, room_id: roomId, ...query }
      const pages = yield* Effect.serviceOption(ChatPageClient)
      if (Option.isSome(pages)) return respondOk(yield* pages.value.GetMessages(payload).pipe(failWithRpcError))
      const chat = yield* ChatClient
      return yield* respondWith(MessagesResponse, yield* chat.GetMessages(payload).pipe(failWithRpcError))
    }))
  })
})
