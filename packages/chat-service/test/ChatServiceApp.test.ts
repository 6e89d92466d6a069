/**
 * `chatServiceApp` as `pylon chat-service` runs it: a real HTTP server on 127.0.0.1:0 with the
 * RPC group at `/rpc` (ndjson, InternalAuth) and the health routes, called through the same
 * `rpcClientLayer` the gateway uses, so payloads, results and typed errors cross the wire.
 */
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, References, Stream } from "effect"
import { MessageNotFound, NotRoomMember } from "@pylon/contracts/Errors"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { ClientMsgId, MessageId } from "@pylon/contracts/Ids"
import { Message } from "@pylon/contracts/Messages"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { rpcClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { FetchHttpClient } from "effect/http"
import { RpcClient, RpcMiddleware, RpcSerialization } from "effect/rpc"
import type { RpcClientError } from "effect/rpc"
import { InternalAuth } from "@pylon/contracts/InternalAuth"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { chatServiceApp } from "../src/ChatServiceApp.ts"
import { ChatClient, createRoom, createUser } from "@pylon/testkit/ChatFixtures"

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/chat/test/BaseUrl") {}

const Server = chatServiceApp.pipe(
  Layer.provide(ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })),
  // The outbox relay publishes to the in-memory twin here; its Kafka path has its own tests.
  Layer.provide(MemoryEventBus.layer),
  // Request logs would drown the test output; warnings and errors still show.
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
  Layer.provideMerge(TestDatabase)
)

const Client = Layer.unwrap(
  Effect.map(boundPort, (port) => {
    const url = `http://127.0.0.1:${port}`
    return Layer.merge(rpcClientLayer(ChatClient, ChatRpcs, url), Layer.succeed(BaseUrl, url))
  })
)

/** A client without the internal credential, as an outsider reaching the port would be. */
class AnonymousClient extends Context.Service<
  AnonymousClient,
  RpcClient.FromGroup<typeof ChatRpcs, RpcClientError.RpcClientError>
>()("pylon/chat/test/AnonymousClient") {}

const Anonymous = Layer.unwrap(
  BaseUrl.useSync((url) =>
    Layer.effect(AnonymousClient, RpcClient.make(ChatRpcs)).pipe(
      Layer.provide(RpcClient.layerProtocolHttp({ url: `${url}/rpc` })),
      Layer.provide([
        FetchHttpClient.layer,
        RpcSerialization.layerNdjson,
        RpcMiddleware.layerClient(InternalAuth, ({ next, request }) => next(request))
      ])
    ))
)

const TestLive = Anonymous.pipe(Layer.provideMerge(Client), Layer.provideMerge(Server))

const fetchJson = (path: string) =>
  BaseUrl.use((url) =>
    Effect.promise(async () => {
      const response = await fetch(`${url}${path}`)
      const body: unknown = await response.json()
      return { status: response.status, body }
    }))

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("chatServiceApp over HTTP", (it) => {
  describe("RPC at /rpc", () => {
    it.effect("sends, reads and streams messages with decoded results", () =>
      Effect.gen(function*() {
        const client = yield* ChatClient
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const sent = yield* client.SendMessage({
          user_id: alice.id,
          room_id: room,
          content: "over the wire",
          msg_type: "file",
          client_msg_id: ClientMsgId.make("w-1")
        })
        expect(sent.created).toBe(true)
        expect(sent.message).toBeInstanceOf(Message)
        expect(sent.message).toMatchObject({ seq: 1, content: "over the wire", msg_type: "file", client_msg_id: "w-1" })
        const retry = yield* client.SendMessage({
          user_id: alice.id,
          room_id: room,
          content: "over the wire",
          msg_type: "file",
          client_msg_id: ClientMsgId.make("w-1")
        })
        expect(retry).toEqual({ message: sent.message, created: false })
        const page = yield* client.GetMessages({ user_id: alice.id, room_id: room, limit: 10 })
        expect(page).toEqual({ messages: [sent.message], has_more: false })
        const streamed = yield* Stream.runCollect(client.StreamMessages({ user_id: alice.id, room_id: room, after_seq: 0 }))
        expect(streamed).toEqual([sent.message])
      }))

    it.effect("typed errors cross the wire", () =>
      Effect.gen(function*() {
        const client = yield* ChatClient
        const alice = yield* createUser("alice")
        const mallory = yield* createUser("mallory")
        const room = yield* createRoom(alice.id)
        const notMember = yield* Effect.flip(
          client.SendMessage({ user_id: mallory.id, room_id: room, content: "hi", msg_type: "text", client_msg_id: null })
        )
        expect(notMember).toBeInstanceOf(NotRoomMember)
        const unknown = MessageId.make(yield* newId)
        const notFound = yield* Effect.flip(
          client.GetMessages({ user_id: alice.id, room_id: room, limit: 10, before_id: unknown })
        )
        expect(notFound).toBeInstanceOf(MessageNotFound)
        const streamError = yield* Effect.flip(
          Stream.runCollect(client.StreamMessages({ user_id: mallory.id, room_id: room, after_seq: 0 }))
        )
        expect(streamError).toBeInstanceOf(NotRoomMember)
      }))

    it.effect("refuses callers without the internal credential", () =>
      Effect.gen(function*() {
        const client = yield* AnonymousClient
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        // Refused with HTTP 401 before the body is read, so no RPC answer (and no typed error) comes back.
        const error = yield* Effect.flip(client.GetMessages({ user_id: alice.id, room_id: room, limit: 10 }))
        expect(error).toMatchObject({ _tag: "RpcClientError" })
      }))
  })

  describe("health", () => {
    it.effect("/health and /ready answer for chat-service", () =>
      Effect.gen(function*() {
        expect(yield* fetchJson("/health")).toEqual({
          status: 200,
          body: { success: true, data: { service: "chat-service", status: "ok" } }
        })
        expect(yield* fetchJson("/ready")).toEqual({
          status: 200,
          body: { success: true, data: { service: "chat-service", status: "ready", checks: { postgres: "up" } } }
        })
      }))
  })
})
