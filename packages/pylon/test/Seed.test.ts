/**
 * `pylon seed` (issue #9 item 8) against an embedded gateway (`pylon dev`'s layer in this process,
 * PGlite in a temporary directory) over real HTTP: the first run loads the
 * demo users, rooms and conversations — keeping a demo user who already exists — a second run
 * changes nothing and says so, and a run after a channel member left only rejoins them. What the
 * API shows afterwards is checked directly, not taken from the seed's own report.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import { request } from "@pylon/testkit/Rest"
import { changedAnything, describeReport, seed } from "../src/seed/Seed.ts"
import { clientMsgId, DEMO_PASSWORD, demoRooms, demoUsers } from "../src/seed/SeedData.ts"
import { EmbeddedBaseUrl, embeddedGateway } from "./support/EmbeddedGateway.ts"

// Three seed runs and the checks log in more often than the default 10 logins a minute allow
// (the seed would wait out each 429, correctly but slowly).
const Embedded = embeddedGateway({ RATE_LIMIT_LOGIN: "1000", RATE_LIMIT_REGISTER: "1000" })

const Auth = Schema.Struct({ data: Schema.Struct({ token: Schema.String, user: Schema.Struct({ id: Schema.String }) }) })
const Rooms = Schema.Struct({ data: Schema.Struct({ rooms: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String })) }) })
const Members = Schema.Struct({ data: Schema.Struct({ members: Schema.Array(Schema.Struct({ username: Schema.String })) }) })
const History = Schema.Struct({
  data: Schema.Struct({
    messages: Schema.Array(Schema.Struct({
      content: Schema.String,
      client_msg_id: Schema.NullOr(Schema.String),
      sender: Schema.Struct({ username: Schema.String })
    }))
  })
})

const decode = <A, I>(schema: Schema.Codec<A, I>, body: unknown) => Effect.orDie(Schema.decodeUnknownEffect(schema)(body))

const login = (base: string, username: string) =>
  Effect.gen(function*() {
    const result = yield* request(base, "POST", "/api/v1/auth/login", {
      json: { email: `${username}@demo.pylon.example.com`, password: DEMO_PASSWORD }
    })
    expect(result.status).toBe(200)
    return (yield* decode(Auth, result.body)).data
  })

const roomsOf = (base: string, token: string) =>
  Effect.flatMap(request(base, "GET", "/api/v1/rooms", { token }), (result) => decode(Rooms, result.body)).pipe(
    Effect.map((body) => body.data.rooms)
  )

/** What the API shows: every demo room exactly once for its owner, its members, its conversation in order. */
const expectSeeded = (base: string) =>
  Effect.gen(function*() {
    for (const room of demoRooms) {
      const owner = yield* login(base, room.owner)
      const matches = (yield* roomsOf(base, owner.token)).filter((r) => r.name === room.name)
      expect(matches).toHaveLength(1)
      const id = matches[0]?.id ?? ""
      const members = yield* Effect.flatMap(
        request(base, "GET", `/api/v1/rooms/${id}/members`, { token: owner.token }),
        (result) => decode(Members, result.body)
      )
      expect(members.data.members.map((m) => m.username).sort()).toEqual([room.owner, ...room.members].sort())
      const history = yield* Effect.flatMap(
        request(base, "GET", `/api/v1/rooms/${id}/messages?after_seq=0&limit=100`, { token: owner.token }),
        (result) => decode(History, result.body)
      )
      expect(history.data.messages.map((m) => [m.sender.username, m.content, m.client_msg_id])).toEqual(
        room.conversation.map(([sender, content], index) => [sender, content, clientMsgId(room, index)])
      )
    }
  })

const totalMessages = demoRooms.reduce((sum, room) => sum + room.conversation.length, 0)

layer(Embedded, { excludeTestServices: true, timeout: "180 seconds" })("pylon seed", (it) => {
  it.effect("loads the demo data once; a second run changes nothing; a later run only repairs what is missing", () =>
    Effect.gen(function*() {
      const base = yield* EmbeddedBaseUrl
      // carol already has her demo account (a run that stopped after her, say): she is kept, not re-registered.
      const carol = yield* request(base, "POST", "/api/v1/auth/register", {
        json: { username: "carol", email: "carol@demo.pylon.example.com", password: DEMO_PASSWORD }
      })
      expect(carol.status).toBe(201)
      const carolId = (yield* decode(Auth, carol.body)).data.user.id

      const first = yield* seed(base)
      expect(first.users).toEqual({ created: demoUsers.length - 1, existing: 1 })
      expect(first.rooms).toEqual({ created: demoRooms.length, existing: 0 })
      expect(first.messages).toEqual({ sent: totalMessages, existing: 0 })
      expect(changedAnything(first)).toBe(true)
      expect((yield* login(base, "carol")).user.id).toBe(carolId)
      yield* expectSeeded(base)

      const second = yield* seed(base)
      expect(changedAnything(second)).toBe(false)
      expect(second).toEqual({
        baseUrl: base,
        users: { created: 0, existing: demoUsers.length },
        rooms: { created: 0, existing: demoRooms.length },
        joined: 0,
        messages: { sent: 0, existing: totalMessages }
      })
      expect(describeReport(second)).toMatch(/^nothing to change at /)
      yield* expectSeeded(base)

      // dave leaves #general: the next run brings him back and sends nothing.
      const dave = yield* login(base, "dave")
      const general = (yield* roomsOf(base, dave.token)).find((r) => r.name === "general")
      expect((yield* request(base, "POST", `/api/v1/rooms/${general?.id ?? ""}/leave`, { token: dave.token })).status).toBe(200)
      const third = yield* seed(base)
      expect(third.joined).toBe(1)
      expect(third.messages.sent).toBe(0)
      expect(third.users.created + third.rooms.created).toBe(0)
      yield* expectSeeded(base)
    }).pipe(Effect.provide(FetchHttpClient.layer)), { timeout: 150_000 })
})
