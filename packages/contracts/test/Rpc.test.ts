/**
 * The internal RPC groups: every payload, success and error schema survives RPC's JSON codec,
 * and `InternalAuth` guards a group end to end (client adds the credential, server checks it).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema, SchemaAST } from "effect"
import { Headers } from "effect/http"
import { RpcMiddleware, RpcSchema, RpcTest } from "effect/rpc"
import { TestSchema } from "effect/testing"
import { ChatRpcs } from "../src/ChatRpcs.ts"
import { Unauthorized } from "../src/Errors.ts"
import { RoomId, UserId } from "../src/Ids.ts"
import { INTERNAL_AUTH_HEADER, InternalAuth } from "../src/InternalAuth.ts"
import { NotificationRpcs } from "../src/NotificationRpcs.ts"
import { ConnectionId } from "../src/Presence.ts"
import { PresenceRpcs } from "../src/PresenceRpcs.ts"
import { RoomRpcs } from "../src/RoomRpcs.ts"

const groups = { ChatRpcs, NotificationRpcs, PresenceRpcs, RoomRpcs }

const isEmpty = (schema: Schema.Top) => SchemaAST.isVoid(schema.ast) || SchemaAST.isNever(schema.ast)

const rpcJsonRoundTrip = <S extends Schema.Codec<unknown, unknown>>(schema: S) =>
  new TestSchema.Asserts(Schema.fromJsonString(Schema.toCodecJson(schema))).verifyRoundTripEffect({ runs: 50 })

describe("RPC schemas survive the JSON codec", () => {
  for (const [groupName, group] of Object.entries(groups)) {
    for (const rpc of group.requests.values()) {
      const parts = { payload: rpc.payloadSchema, success: rpc.successSchema, error: rpc.errorSchema }
      for (const [part, schema] of Object.entries(parts)) {
        // Stream elements (`Message`) and their errors are covered by the wire round-trip tests.
        if (isEmpty(schema) || RpcSchema.isStreamSchema(schema)) continue
        it.effect(`${groupName}.${rpc._tag} ${part}`, () => rpcJsonRoundTrip(schema))
      }
    }
  }

  it("every RPC carries the acting user_id and InternalAuth", () => {
    for (const group of Object.values(groups)) {
      for (const rpc of group.requests.values()) {
        expect(Schema.decodeUnknownOption(rpc.payloadSchema)({})).toEqual(Option.none())
        const fields = SchemaAST.isObjects(rpc.payloadSchema.ast)
          ? rpc.payloadSchema.ast.propertySignatures.map((p) => p.name)
          : []
        expect(fields, rpc._tag).toContain("user_id")
        expect([...rpc.middlewares], rpc._tag).toContain(InternalAuth)
      }
    }
  })
})

const secret = "s3cret"

const InternalAuthServer = Layer.succeed(InternalAuth)(
  (effect, { headers }) =>
    headers[INTERNAL_AUTH_HEADER] === secret ? effect : Effect.fail(new Unauthorized({ message: "bad internal token" }))
)

const internalAuthClient = (token: string) =>
  RpcMiddleware.layerClient(InternalAuth, ({ request, next }) =>
    next({ ...request, headers: Headers.set(request.headers, INTERNAL_AUTH_HEADER, token) }))

const PresenceHandlers = PresenceRpcs.toLayer({
  SetOnline: () => Effect.void,
  SetOffline: () => Effect.void,
  SetTyping: () => Effect.void,
  GetPresence: ({ target_user_ids }) =>
    Effect.succeed(target_user_ids.map((user_id) => ({ user_id, status: "online" as const, last_seen_at: null }))),
  GetRoomPresence: () => Effect.succeed([])
})

const alice = UserId.make("0190b3a2-1111-7111-8111-111111111111")
const bob = UserId.make("0190b3a2-2222-7222-8222-222222222222")

describe("InternalAuth", () => {
  it.effect("lets a client with the credential through", () =>
    Effect.gen(function*() {
      const client = yield* RpcTest.makeClient(PresenceRpcs)
      yield* client.SetOnline({ user_id: alice, connection_id: ConnectionId.make("node-1/1") })
      const presence = yield* client.GetPresence({ user_id: alice, target_user_ids: [bob] })
      expect(presence).toEqual([{ user_id: bob, status: "online", last_seen_at: null }])
    }).pipe(Effect.provide([PresenceHandlers, InternalAuthServer, internalAuthClient(secret)])))

  it.effect("rejects a client without it with a typed Unauthorized", () =>
    Effect.gen(function*() {
      const client = yield* RpcTest.makeClient(PresenceRpcs)
      const error = yield* Effect.flip(client.SetTyping({ user_id: alice, room_id: RoomId.make("0190b3a2-3333-7333-8333-333333333333") }))
      expect(error).toBeInstanceOf(Unauthorized)
    }).pipe(Effect.provide([PresenceHandlers, InternalAuthServer, internalAuthClient("wrong")])))
})
