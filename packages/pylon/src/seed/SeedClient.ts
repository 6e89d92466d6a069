/**
 * The few calls of Pylon's public API that `pylon seed` makes, as any client would make them:
 * REST (API.md §3–§5) for users, rooms and history, and the Connect JSON `ChatService.SendMessage`
 * for sends (a send is not a REST call, API.md §5). Responses are decoded with Schemas; a 429 is
 * waited out (`Retry-After`) and retried, so a seed run after another stays within the rate limits.
 */
import { Duration, Effect, Option, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"

export class SeedError extends Schema.TaggedError<SeedError>()("SeedError", {
  step: Schema.String,
  message: Schema.String
}) {}

export interface Session {
  readonly id: string
  readonly username: string
  readonly token: string
}

export const SeedRoom = Schema.Struct({ id: Schema.String, name: Schema.String, type: Schema.String })
export type SeedRoom = typeof SeedRoom.Type

const Envelope = <A, I>(data: Schema.Codec<A, I>) => Schema.Struct({ success: Schema.Literal(true), data })
const AuthResult = Envelope(Schema.Struct({
  user: Schema.Struct({ id: Schema.String, username: Schema.String }),
  token: Schema.String
}))
const RoomList = Envelope(Schema.Struct({ rooms: Schema.Array(SeedRoom) }))
const OneRoom = Envelope(Schema.Struct({ room: SeedRoom }))
const MemberList = Envelope(Schema.Struct({ members: Schema.Array(Schema.Struct({ user_id: Schema.String })) }))
const HistoryPage = Envelope(Schema.Struct({
  messages: Schema.Array(Schema.Struct({ seq: Schema.Number, client_msg_id: Schema.NullOr(Schema.String) })),
  has_more: Schema.Boolean
}))
const SentMessage = Schema.Struct({ message: Schema.Struct({ id: Schema.String }) })

interface Reply {
  readonly status: number
  readonly body: unknown
}

const MAX_RATE_LIMIT_WAITS = 5

/** The public API of the gateway at `baseUrl`. */
export const seedClient = (baseUrl: string) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient

    const send = (step: string, request: HttpClientRequest.HttpClientRequest): Effect.Effect<Reply, SeedError> =>
      Effect.gen(function*() {
        for (let attempt = 0;; attempt++) {
          const response = yield* http.execute(request).pipe(
            Effect.mapError((error) => new SeedError({ step, message: `cannot reach ${baseUrl}: ${error.message}` }))
          )
          const text = yield* Effect.orElseSucceed(response.text, () => "")
          if (response.status === 429 && attempt < MAX_RATE_LIMIT_WAITS) {
            const seconds = Math.min(Math.max(Number(response.headers["retry-after"] ?? "1") || 1, 1), 60)
            yield* Effect.logInfo(`${step}: rate limited, waiting ${seconds}s (Retry-After)`)
            yield* Effect.sleep(Duration.seconds(seconds))
            continue
          }
          return { status: response.status, body: text === "" ? undefined : parseJson(text) }
        }
      })

    const rest = (step: string, method: "GET" | "POST", path: string, options: { token?: string; json?: unknown } = {}) => {
      let request = HttpClientRequest.make(method)(`${baseUrl}${path}`)
      if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
      if (options.json !== undefined) request = HttpClientRequest.bodyJsonUnsafe(request, options.json)
      return send(step, request)
    }

    const expect = <A, I>(step: string, reply: Reply, statuses: ReadonlyArray<number>, schema: Schema.Codec<A, I>) =>
      statuses.includes(reply.status)
        ? Schema.decodeUnknownEffect(schema)(reply.body).pipe(
          Effect.mapError((error) => new SeedError({ step, message: `unexpected response: ${error.message}` }))
        )
        : Effect.fail(new SeedError({ step, message: `HTTP ${reply.status}: ${JSON.stringify(reply.body)}` }))

    const session = (data: typeof AuthResult.Type["data"]): Session => ({
      id: data.user.id,
      username: data.user.username,
      token: data.token
    })

    return {
      /** Logs in; `None` when the credentials are not (yet) valid. */
      login: (email: string, password: string) =>
        Effect.gen(function*() {
          const step = `login ${email}`
          const reply = yield* rest(step, "POST", "/api/v1/auth/login", { json: { email, password } })
          if (reply.status === 401) return Option.none<Session>()
          return Option.some(session((yield* expect(step, reply, [200], AuthResult)).data))
        }),
      register: (username: string, email: string, password: string) =>
        Effect.gen(function*() {
          const step = `register ${username}`
          const reply = yield* rest(step, "POST", "/api/v1/auth/register", { json: { username, email, password } })
          if (reply.status === 409) {
            return yield* new SeedError({ step, message: `"${username}" or ${email} exists with another password` })
          }
          return session((yield* expect(step, reply, [201], AuthResult)).data)
        }),
      rooms: (user: Session) =>
        rest(`list rooms of ${user.username}`, "GET", "/api/v1/rooms", { token: user.token }).pipe(
          Effect.flatMap((reply) => expect(`list rooms of ${user.username}`, reply, [200], RoomList)),
          Effect.map((body) => body.data.rooms)
        ),
      createRoom: (owner: Session, name: string, type: string, memberIds: ReadonlyArray<string>) =>
        rest(`create room ${name}`, "POST", "/api/v1/rooms", {
          token: owner.token,
          json: { name, type, member_ids: memberIds }
        }).pipe(
          Effect.flatMap((reply) => expect(`create room ${name}`, reply, [200, 201], OneRoom)),
          Effect.map((body) => body.data.room)
        ),
      members: (user: Session, room: SeedRoom) =>
        rest(`members of ${room.name}`, "GET", `/api/v1/rooms/${room.id}/members`, { token: user.token }).pipe(
          Effect.flatMap((reply) => expect(`members of ${room.name}`, reply, [200], MemberList)),
          Effect.map((body) => new Set(body.data.members.map((member) => member.user_id)))
        ),
      join: (user: Session, room: SeedRoom) =>
        rest(`${user.username} joins ${room.name}`, "POST", `/api/v1/rooms/${room.id}/join`, { token: user.token }).pipe(
          Effect.flatMap((reply) => expect(`${user.username} joins ${room.name}`, reply, [200], Schema.Unknown)),
          Effect.asVoid
        ),
      /** Every `client_msg_id` in the room's history (paged oldest first with `after_seq`). */
      clientMsgIds: (user: Session, room: SeedRoom) =>
        Effect.gen(function*() {
          const step = `history of ${room.name}`
          const ids = new Set<string>()
          let afterSeq = 0
          while (true) {
            const reply = yield* rest(step, "GET", `/api/v1/rooms/${room.id}/messages?after_seq=${afterSeq}&limit=100`, {
              token: user.token
            })
            const page = (yield* expect(step, reply, [200], HistoryPage)).data
            for (const message of page.messages) if (message.client_msg_id !== null) ids.add(message.client_msg_id)
            const last = page.messages.at(-1)
            if (!page.has_more || last === undefined) return ids
            afterSeq = last.seq
          }
        }),
      /** `pylon.chat.v1.ChatService/SendMessage` in Connect JSON; idempotent per `clientMsgId`. */
      sendMessage: (sender: Session, room: SeedRoom, content: string, clientMsgId: string) =>
        Effect.gen(function*() {
          const step = `send ${clientMsgId}`
          const request = HttpClientRequest.post(`${baseUrl}/pylon.chat.v1.ChatService/SendMessage`).pipe(
            HttpClientRequest.bearerToken(sender.token),
            HttpClientRequest.setHeader("connect-protocol-version", "1"),
            HttpClientRequest.bodyJsonUnsafe({ roomId: room.id, content, clientMsgId })
          )
          const reply = yield* send(step, request)
          return (yield* expect(step, reply, [200], SentMessage)).message.id
        })
    }
  })

export type SeedClient = Effect.Success<ReturnType<typeof seedClient>>

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
