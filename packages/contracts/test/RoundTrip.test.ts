/**
 * Every REST body, WebSocket frame, event and domain error survives the wire:
 * for generated values x, decode(JSON.parse(JSON.stringify(encode(x)))) equals x.
 */
import { describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { TestSchema } from "effect/testing"
import { AccessTokenClaims, AuthResult, LoginRequest, LogoutResult, MeResponse, RefreshRequest, RegisterRequest, TokenPair } from "../src/Auth.ts"
import { ErrorEnvelope, SuccessEnvelope } from "../src/Envelope.ts"
import { DomainError } from "../src/Errors.ts"
import { MessageCreatedEvent } from "../src/Events.ts"
import { HealthResponse } from "../src/Health.ts"
import { GetMessagesQuery, MessagesResponse } from "../src/Messages.ts"
import { NotificationsQuery, NotificationsResponse, ReadAllResult, ReadResult } from "../src/Notifications.ts"
import { ChannelsQuery, CreateRoomRequest, JoinResult, LeaveResult, MembersResponse, RoomResponse, RoomsResponse } from "../src/Rooms.ts"
import { ClientFrame, ServerFrame } from "../src/WsFrames.ts"

const runs = { runs: 200 }

const wireRoundTrip = <S extends Schema.Codec<unknown, unknown>>(schema: S) =>
  new TestSchema.Asserts(Schema.fromJsonString(schema)).verifyRoundTripEffect(runs)

const cases: ReadonlyArray<readonly [string, Schema.Codec<unknown, unknown>]> = [
  ["RegisterRequest", RegisterRequest],
  ["LoginRequest", LoginRequest],
  ["RefreshRequest", RefreshRequest],
  ["AuthResult", AuthResult],
  ["TokenPair", TokenPair],
  ["LogoutResult", LogoutResult],
  ["MeResponse", MeResponse],
  ["AccessTokenClaims", AccessTokenClaims],
  ["CreateRoomRequest", CreateRoomRequest],
  ["RoomResponse", RoomResponse],
  ["RoomsResponse", RoomsResponse],
  ["MembersResponse", MembersResponse],
  ["JoinResult", JoinResult],
  ["LeaveResult", LeaveResult],
  ["ChannelsQuery", ChannelsQuery],
  ["GetMessagesQuery", GetMessagesQuery],
  ["MessagesResponse", MessagesResponse],
  ["NotificationsQuery", NotificationsQuery],
  ["NotificationsResponse", NotificationsResponse],
  ["ReadResult", ReadResult],
  ["ReadAllResult", ReadAllResult],
  ["HealthResponse", HealthResponse],
  ["ErrorEnvelope", ErrorEnvelope],
  ["SuccessEnvelope(RoomResponse)", SuccessEnvelope(RoomResponse)],
  ["ClientFrame", ClientFrame],
  ["ServerFrame", ServerFrame],
  ["MessageCreatedEvent", MessageCreatedEvent],
  ["DomainError", DomainError]
]

describe("wire round trip", () => {
  for (const [name, schema] of cases) {
    it.effect(name, () => wireRoundTrip(schema))
  }

  // Unions are sampled as a whole; also check each frame on its own so none is starved.
  for (const [type, schema] of Object.entries(ClientFrame.cases)) {
    it.effect(`ClientFrame ${type}`, () => wireRoundTrip(schema))
  }
  for (const [type, schema] of Object.entries(ServerFrame.cases)) {
    it.effect(`ServerFrame ${type}`, () => wireRoundTrip(schema))
  }
})
