/**
 * Message history of API.md §5: `GET /api/v1/rooms/{id}/messages?limit=&before_id=&after_seq=`.
 * Authenticates the caller, spends one `history` rate-limit hit keyed by user id, decodes the
 * room id and query with the contract Schemas (limit default 50, clamped to 100; bad input is
 * 400), and asks the chat service for the page as JSON text (`GetMessagesJson`, built by
 * PostgreSQL), which is written into the envelope as it came: no page is parsed into objects or
 * serialised again here (docs/perf.md §11).
 */
import { Effect } from "effect"
import { RoomId } from "@pylon/contracts/Ids"
import { GetMessagesQuery } from "@pylon/contracts/Messages"
import { respondOkJsonText } from "@pylon/platform/http/HttpEnvelope"
import { decodePathParam, decodeQuery } from "@pylon/platform/http/HttpRequestDecoding"
import { ChatClient } from "../clients/ServiceClients.ts"
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
      const chat = yield* ChatClient
      return respondOkJsonText(yield* chat.GetMessagesJson(payload).pipe(failWithRpcError))
    }))
  })
})
