/**
 * The Connect surface served by the gateway (CONNECT-COMPAT.md), over real HTTP against
 * `gatewayApp` on a real socket with the real PostgreSQL and Redis (support/GatewayHarness.ts):
 * AuthService, GatewayService, RoomService and the unary Chat/Notification calls through `@connectrpc/connect-node`
 * clients in Connect JSON, Connect binary, gRPC-Web and gRPC (HTTP/2 cleartext); the same flow through a client built from
 * the ORIGINAL protos (the frozen image proto/compat/pylon-v1.binpb, no Pylon field known); the
 * error codes of rule 4 that these services can produce; and the raw Connect JSON wire.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect"
import type { Client, Transport } from "@connectrpc/connect"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import { ChatService, MessageType } from "@pylon/proto-gen/chat/v1/chat"
import { GatewayService } from "@pylon/proto-gen/gateway/v1/gateway"
import { NotificationService, NotificationType } from "@pylon/proto-gen/notification/v1/notification"
import { RoomService, RoomType } from "@pylon/proto-gen/room/v1/room"
import { connectProtocols as transports } from "@pylon/testkit/ConnectProtocols"
import { object, objects, originalUnary as unary, text } from "@pylon/testkit/OriginalProtos"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import { RFC3339_MS_UTC } from "./support/Http.ts"

const CREATE_ROOM_BUDGET = 5
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const BUF = `${REPO_ROOT}node_modules/.bin/buf`
const execFileAsync = promisify(execFile)

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The Connect code a call failed with (the test fails if it succeeded). */
const codeOf = (f: () => Promise<unknown>) =>
  Effect.promise(() =>
    f().then(
      () => "succeeded" as const,
      (error: unknown) => ConnectError.from(error).code
    )
  )

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

const newCredentials = () => {
  const name = `c${randomBytes(6).toString("hex")}`
  return { username: name, email: `${name}@example.com`, password: "correct horse battery" }
}

interface Clients {
  readonly auth: Client<typeof AuthService>
  readonly gateway: Client<typeof GatewayService>
  readonly rooms: Client<typeof RoomService>
}

const clientsFor = (transport: (baseUrl: string) => Transport) =>
  Effect.map(Gateway, ({ baseUrl }): Clients => {
    const t = transport(baseUrl)
    return { auth: createClient(AuthService, t), gateway: createClient(GatewayService, t), rooms: createClient(RoomService, t) }
  })

const registered = (clients: Clients) =>
  Effect.gen(function*() {
    const credentials = newCredentials()
    const result = yield* call(() => clients.auth.register(credentials))
    const user = result.user
    if (user === undefined) throw new Error("register returned no user")
    return { credentials, user, token: result.token, refreshToken: result.refreshToken }
  })

layer(gatewayLayer({ rateLimits: { createRoom: CREATE_ROOM_BUDGET } }))("Connect surface over real HTTP", (it) => {
  for (const [protocol, transport] of transports) {
    describe(protocol, () => {
      it.effect("auth: register, login, refresh; gateway: validate and refresh tokens", () =>
        Effect.gen(function*() {
          const clients = yield* clientsFor(transport)
          const alice = yield* registered(clients)
          expect(alice.user.username).toBe(alice.credentials.username)
          expect(alice.user.email).toBe(alice.credentials.email)
          expect(alice.user.displayName).toBeUndefined()
          expect(alice.user.createdAt).toMatch(RFC3339_MS_UTC)

          const login = yield* call(() =>
            clients.auth.login({ email: alice.credentials.email.toUpperCase(), password: alice.credentials.password })
          )
          expect(login.user?.id).toBe(alice.user.id)
          expect(login.expiresAt).toMatch(RFC3339_MS_UTC)

          const rotated = yield* call(() => clients.auth.refreshToken({ refreshToken: login.refreshToken }))
          expect(rotated.refreshToken).not.toBe(login.refreshToken)
          // The rotated-away token is spent: presenting it again is refused.
          expect(yield* codeOf(() => clients.auth.refreshToken({ refreshToken: login.refreshToken }))).toBe(
            Code.Unauthenticated
          )

          const valid = yield* call(() => clients.gateway.validateToken({ token: alice.token }))
          expect(valid).toMatchObject({ valid: true, userId: alice.user.id, username: alice.user.username })
          expect(valid.expiresAt).toBeDefined()
          const invalid = yield* call(() => clients.gateway.validateToken({ token: "not-a-token" }))
          expect(invalid).toMatchObject({ valid: false, userId: "" })

          const viaGateway = yield* call(() => clients.gateway.refreshToken({ refreshToken: alice.refreshToken }))
          expect(viaGateway.accessToken).not.toBe("")
          expect(viaGateway.expiresAt).toBeDefined()
          expect(viaGateway.refreshExpiresAt).toBeDefined()
        }))

      it.effect("rooms: create, get, list, join, members, leave — identity from the bearer token", () =>
        Effect.gen(function*() {
          const clients = yield* clientsFor(transport)
          const alice = yield* registered(clients)
          const bob = yield* registered(clients)
          const created = yield* call(() =>
            clients.rooms.createRoom({ name: "  lobby  ", type: RoomType.CHANNEL }, bearer(alice.token))
          )
          const room = created.room
          if (room === undefined) throw new Error("createRoom returned no room")
          expect(created.created).toBe(true)
          expect(room).toMatchObject({ name: "lobby", type: RoomType.CHANNEL, createdBy: alice.user.id, memberCount: 1n })
          expect(room.createdAt).toBeDefined()

          // Naming yourself explicitly is the same as leaving the field empty.
          yield* call(() => clients.rooms.joinRoom({ roomId: room.id, userId: bob.user.id }, bearer(bob.token)))
          const got = yield* call(() => clients.rooms.getRoom({ roomId: room.id }, bearer(bob.token)))
          expect(got.room?.memberCount).toBe(2n)
          const members = yield* call(() => clients.rooms.getRoomMembers({ roomId: room.id }, bearer(alice.token)))
          expect(members.members.map(({ role, roomId, userId }) => ({ userId, roomId, role })).sort((a, b) =>
            a.role.localeCompare(b.role)
          )).toEqual([
            { userId: bob.user.id, roomId: room.id, role: "member" },
            { userId: alice.user.id, roomId: room.id, role: "owner" }
          ])
          const bobs = yield* call(() => clients.rooms.listRooms({}, bearer(bob.token)))
          expect(bobs.rooms.map((r) => r.id)).toContain(room.id)

          yield* call(() => clients.rooms.leaveRoom({ roomId: room.id }, bearer(bob.token)))
          const after = yield* call(() => clients.rooms.listRooms({ userId: bob.user.id }, bearer(bob.token)))
          expect(after.rooms.map((r) => r.id)).not.toContain(room.id)
        }))

      it.effect("chat: send (idempotent with client_msg_id) and read history; notifications: read, mark", () =>
        Effect.gen(function*() {
          const clients = yield* clientsFor(transport)
          const chat = createClient(ChatService, transport((yield* Gateway).baseUrl))
          const notifications = createClient(NotificationService, transport((yield* Gateway).baseUrl))
          const alice = yield* registered(clients)
          const bob = yield* registered(clients)
          const carol = yield* registered(clients)
          const group = yield* call(() =>
            clients.rooms.createRoom({ name: "g", type: RoomType.GROUP, memberIds: [bob.user.id] }, bearer(alice.token))
          )
          const roomId = group.room?.id ?? ""
          // Unspecified type is text; the sender defaults to the token's subject.
          const sent = yield* call(() =>
            chat.sendMessage({ roomId, content: "  hello  ", clientMsgId: "k1" }, bearer(alice.token))
          )
          expect(sent.created).toBe(true)
          expect(sent.message).toMatchObject({
            roomId,
            senderId: alice.user.id,
            senderUsername: alice.user.username,
            content: "hello",
            type: MessageType.TEXT,
            seq: 1n,
            clientMsgId: "k1"
          })
          const retry = yield* call(() =>
            chat.sendMessage({ roomId, content: "hello", clientMsgId: "k1" }, bearer(alice.token))
          )
          expect(retry.created).toBe(false)
          expect(retry.message?.id).toBe(sent.message?.id)
          const page = yield* call(() => chat.getMessages({ roomId }, bearer(bob.token)))
          expect(page.messages.map((m) => m.id)).toEqual([sent.message?.id])
          expect(page.hasMore).toBe(false)
          expect(yield* codeOf(() => chat.getMessages({ roomId }, bearer(carol.token)))).toBe(Code.PermissionDenied)
          expect(yield* codeOf(() => chat.sendMessage({ roomId, content: "x", type: MessageType.SYSTEM }, bearer(alice.token))))
            .toBe(Code.InvalidArgument)
          expect(yield* codeOf(() => chat.sendMessage({ roomId, content: "x", senderId: bob.user.id }, bearer(alice.token))))
            .toBe(Code.PermissionDenied)

          const inbox = yield* call(() => notifications.getNotifications({ unreadOnly: true }, bearer(bob.token)))
          expect(inbox.unreadCount).toBe(inbox.notifications.filter((n) => !n.read).length)
          expect(yield* codeOf(() => notifications.getNotifications({ offset: 20 }, bearer(bob.token)))).toBe(
            Code.InvalidArgument
          )
          expect(yield* codeOf(() => notifications.markAsRead({ notificationId: randomUUID() }, bearer(bob.token)))).toBe(
            Code.NotFound
          )
          expect(yield* codeOf(() =>
            notifications.sendNotification(
              { userId: bob.user.id, roomId, type: NotificationType.MESSAGE, title: "t", body: "b" },
              bearer(alice.token)
            )
          )).toBe(Code.PermissionDenied)
        }))

      it.effect("errors are the Connect codes of CONNECT-COMPAT.md rule 4", () =>
        Effect.gen(function*() {
          const clients = yield* clientsFor(transport)
          const alice = yield* registered(clients)
          const bob = yield* registered(clients)
          const { rooms } = clients
          // unauthenticated: no token, a bad token, bad credentials
          expect(yield* codeOf(() => rooms.listRooms({}))).toBe(Code.Unauthenticated)
          expect(yield* codeOf(() => rooms.listRooms({}, bearer("nope")))).toBe(Code.Unauthenticated)
          expect(yield* codeOf(() => clients.auth.login({ email: alice.credentials.email, password: "wrong password" })))
            .toBe(Code.Unauthenticated)
          // permission_denied: naming another user; a group room's members for a non-member
          expect(yield* codeOf(() => rooms.listRooms({ userId: bob.user.id }, bearer(alice.token)))).toBe(
            Code.PermissionDenied
          )
          expect(yield* codeOf(() =>
            rooms.createRoom({ name: "x", type: RoomType.GROUP, creatorId: bob.user.id }, bearer(alice.token))
          )).toBe(Code.PermissionDenied)
          const group = yield* call(() => rooms.createRoom({ name: "g", type: RoomType.GROUP }, bearer(alice.token)))
          const groupId = group.room?.id ?? ""
          expect(yield* codeOf(() => rooms.getRoomMembers({ roomId: groupId }, bearer(bob.token)))).toBe(
            Code.PermissionDenied
          )
          expect(yield* codeOf(() => rooms.joinRoom({ roomId: groupId }, bearer(bob.token)))).toBe(Code.PermissionDenied)
          // invalid_argument: no room type, a malformed id, a bad registration
          expect(yield* codeOf(() => rooms.createRoom({ name: "x" }, bearer(alice.token)))).toBe(Code.InvalidArgument)
          expect(yield* codeOf(() => rooms.getRoom({ roomId: "nope" }, bearer(alice.token)))).toBe(Code.InvalidArgument)
          expect(yield* codeOf(() => clients.auth.register({ username: "a", email: "b", password: "c" }))).toBe(
            Code.InvalidArgument
          )
          // not_found: an unknown room; leaving a room you are not in
          expect(yield* codeOf(() => rooms.getRoom({ roomId: randomUUID() }, bearer(alice.token)))).toBe(Code.NotFound)
          expect(yield* codeOf(() => rooms.leaveRoom({ roomId: groupId }, bearer(bob.token)))).toBe(Code.NotFound)
          // already_exists: a taken username
          expect(yield* codeOf(() => clients.auth.register({ ...newCredentials(), username: alice.credentials.username })))
            .toBe(Code.AlreadyExists)
          // resource_exhausted: the REST createRoom budget, per user. As on REST, every attempt
          // spends it, refused ones included: three so far (other creator, group, no type).
          for (let i = 3; i < CREATE_ROOM_BUDGET; i++) {
            yield* call(() => rooms.createRoom({ name: `r${i}`, type: RoomType.GROUP }, bearer(alice.token)))
          }
          expect(yield* codeOf(() => rooms.createRoom({ name: "one too many", type: RoomType.GROUP }, bearer(alice.token))))
            .toBe(Code.ResourceExhausted)
        }))
    })
  }

  describe("a client built from the original protos (no Pylon field known)", () => {
    for (const [protocol, transport] of transports) {
      it.effect(`${protocol}: register, create, list, join and read members`, () =>
        Effect.gen(function*() {
          const t = transport((yield* Gateway).baseUrl)
          const alice = yield* unary(t, "pylon.auth.v1.AuthService/Register", newCredentials())
          const bob = yield* unary(t, "pylon.auth.v1.AuthService/Register", newCredentials())
          const aliceToken = text(alice, "token")
          const bobToken = text(bob, "token")
          const created = yield* unary(
            t,
            "pylon.room.v1.RoomService/CreateRoom",
            { name: "old client", type: "ROOM_TYPE_CHANNEL" },
            aliceToken
          )
          // Exactly the original fields: Pylon's additions are unknown fields to this client.
          expect(Object.keys(created)).toEqual(["room"])
          const room = object(created, "room")
          expect(Object.keys(room).sort()).toEqual(["createdAt", "createdBy", "id", "name", "type"])
          expect(room).toMatchObject({ name: "old client", type: "ROOM_TYPE_CHANNEL", createdBy: object(alice, "user")["id"] })
          expect(text(room, "createdAt")).toMatch(RFC3339_MS_UTC)
          const roomId = text(room, "id")
          expect(yield* unary(t, "pylon.room.v1.RoomService/JoinRoom", { roomId }, bobToken)).toEqual({})
          const listed = yield* unary(t, "pylon.room.v1.RoomService/ListRooms", {}, bobToken)
          expect(objects(listed, "rooms").map((r) => r["id"])).toContain(roomId)
          const members = yield* unary(t, "pylon.room.v1.RoomService/GetRoomMembers", { roomId }, aliceToken)
          expect(objects(members, "members").map((m) => m["role"]).sort()).toEqual([
            "member",
            "owner"
          ])
        }))
    }
  })

  it.effect("buf curl (offline, schema from proto/) calls one unary RPC or more of every service, in every protocol", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Gateway
      const bufCurl = (protocol: string, rpc: string, body: unknown, token?: string) =>
        Effect.promise(async (): Promise<unknown> => {
          const { stdout } = await execFileAsync(BUF, [
            "curl",
            "--schema",
            REPO_ROOT,
            "--protocol",
            protocol,
            // gRPC needs HTTP/2; over cleartext that is h2c with prior knowledge.
            ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
            ...(token === undefined ? [] : ["-H", `Authorization: Bearer ${token}`]),
            "-d",
            JSON.stringify(body),
            `${baseUrl}/${rpc}`
          ], { cwd: REPO_ROOT, timeout: 60_000 })
          return JSON.parse(stdout)
        })
      const credentials = newCredentials()
      const registered = yield* bufCurl("connect", "pylon.auth.v1.AuthService/Register", credentials)
      expect(registered).toMatchObject({ user: { username: credentials.username } })
      const token = (registered as { readonly token: string }).token
      const created = yield* bufCurl(
        "grpcweb",
        "pylon.room.v1.RoomService/CreateRoom",
        { name: "curl", type: "ROOM_TYPE_GROUP" },
        token
      )
      expect(created).toMatchObject({ room: { name: "curl", type: "ROOM_TYPE_GROUP", memberCount: "1" }, created: true })
      const roomId = (created as { readonly room: { readonly id: string } }).room.id
      const userId = (registered as { readonly user: { readonly id: string } }).user.id

      const validated = yield* bufCurl("grpc", "pylon.gateway.v1.GatewayService/ValidateToken", { token })
      expect(validated).toMatchObject({ valid: true, userId, username: credentials.username })
      const sent = yield* bufCurl("grpc", "pylon.chat.v1.ChatService/SendMessage", { roomId, content: "via buf curl" }, token)
      expect(sent).toMatchObject({ message: { roomId, senderId: userId, content: "via buf curl" }, created: true })
      const history = yield* bufCurl("connect", "pylon.chat.v1.ChatService/GetMessages", { roomId }, token)
      expect((history as { readonly messages: ReadonlyArray<{ readonly content: string }> }).messages.map((m) => m.content))
        .toEqual(["via buf curl"])
      expect(yield* bufCurl("grpcweb", "pylon.presence.v1.PresenceService/SetOnline", { connectionId: "curl" }, token)).toEqual({})
      const presence = yield* bufCurl("grpc", "pylon.presence.v1.PresenceService/GetRoomPresence", { roomId }, token)
      expect(presence).toMatchObject({ presences: [{ userId, roomId, status: "PRESENCE_STATUS_ONLINE" }] })
      // A new user has no notifications: every field is at its default, so the JSON is empty.
      expect(yield* bufCurl("connect", "pylon.notification.v1.NotificationService/GetNotifications", {}, token)).toEqual({})
    }))

  it.effect("the raw Connect JSON wire: camelCase JSON in and out, errors as {code, message}", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Gateway
      const post = (path: string, body: unknown, token?: string) =>
        call(async () => {
          const response = await fetch(`${baseUrl}/${path}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "connect-protocol-version": "1",
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
            },
            body: JSON.stringify(body)
          })
          return { status: response.status, json: (await response.json()) as Record<string, unknown> }
        })
      const registered = yield* post("pylon.auth.v1.AuthService/Register", newCredentials())
      expect(registered.status).toBe(200)
      const token = String(registered.json["token"])
      const created = yield* post("pylon.room.v1.RoomService/CreateRoom", { name: "raw", type: "ROOM_TYPE_GROUP" }, token)
      expect(created.status).toBe(200)
      expect(created.json["room"]).toMatchObject({ name: "raw", type: "ROOM_TYPE_GROUP", memberCount: "1" })
      const unauthenticated = yield* post("pylon.room.v1.RoomService/ListRooms", {})
      expect(unauthenticated.status).toBe(401)
      expect(unauthenticated.json).toEqual({ code: "unauthenticated", message: "missing bearer token" })
      const unknown = yield* post("pylon.room.v1.RoomService/NoSuchRpc", {}, token)
      expect(unknown.status).toBe(404)
      // Bodies are capped like REST's (1 MiB), before Connect reads them.
      const huge = yield* post("pylon.room.v1.RoomService/CreateRoom", { name: "x".repeat(1024 * 1024) }, token)
      expect(huge.status).toBe(413)
    }))
})
