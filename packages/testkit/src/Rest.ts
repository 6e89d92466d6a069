/**
 * REST calls the topology tests need (API.md §3–§5), over global `fetch` against one gateway:
 * register a user, create/join/leave rooms, read history, probe `/ready`. Response bodies are
 * decoded with small Schemas, so a contract break fails the test instead of passing silently.
 */
import { randomBytes } from "node:crypto"
import { Effect, Schema } from "effect"

export interface HttpResult {
  readonly status: number
  readonly body: unknown
}

export interface RequestOptions {
  readonly json?: unknown
  readonly token?: string
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** One HTTP request; never fails (a refused connection is status 0). */
export const request = (baseUrl: string, method: string, path: string, options: RequestOptions = {}) =>
  Effect.promise(async (): Promise<HttpResult> => {
    const headers: Record<string, string> = {}
    if (options.json !== undefined) headers["content-type"] = "application/json"
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) })
      })
      return { status: response.status, body: parseJson(await response.text()) }
    } catch {
      return { status: 0, body: undefined }
    }
  })

/** A decoder of a success envelope `{"success":true,"data":…}` whose `data` is `data`. */
const envelope = <A, I>(data: Schema.Codec<A, I>) =>
  Schema.decodeUnknownEffect(Schema.Struct({ success: Schema.Literal(true), data }))

/** Decodes the `data` of a success envelope, failing the test with the whole response otherwise. */
const expectData = <A, E>(
  result: HttpResult,
  status: number,
  decode: (body: unknown) => Effect.Effect<{ readonly data: A }, E>
): Effect.Effect<A> =>
  Effect.gen(function*() {
    if (result.status !== status) {
      return yield* Effect.die(new Error(`expected HTTP ${status}, got ${result.status}: ${JSON.stringify(result.body)}`))
    }
    const decoded = yield* Effect.orDie(decode(result.body))
    return decoded.data
  })

export interface TestUser {
  readonly id: string
  readonly username: string
  readonly token: string
  readonly refreshToken: string
}

const decodeAuth = envelope(Schema.Struct({
  user: Schema.Struct({ id: Schema.String, username: Schema.String }),
  token: Schema.String,
  refresh_token: Schema.String
}))

const PASSWORD = "correct horse battery"

/** A new session of an existing user (`POST /api/v1/auth/login`). */
export const loginUser = (baseUrl: string, user: TestUser): Effect.Effect<TestUser> =>
  Effect.gen(function*() {
    const result = yield* request(baseUrl, "POST", "/api/v1/auth/login", {
      json: { email: `${user.username}@example.test`, password: PASSWORD }
    })
    const data = yield* expectData(result, 200, decodeAuth)
    return { id: data.user.id, username: data.user.username, token: data.token, refreshToken: data.refresh_token }
  })

/** Registers `<prefix>_<random>` and returns its id, username and access token. */
export const registerUser = (baseUrl: string, prefix: string): Effect.Effect<TestUser> =>
  Effect.gen(function*() {
    const username = `${prefix}_${randomBytes(4).toString("hex")}`
    const result = yield* request(baseUrl, "POST", "/api/v1/auth/register", {
      json: { username, email: `${username}@example.test`, password: PASSWORD }
    })
    const data = yield* expectData(result, 201, decodeAuth)
    return { id: data.user.id, username: data.user.username, token: data.token, refreshToken: data.refresh_token }
  })

const decodeRoom = envelope(Schema.Struct({ room: Schema.Struct({ id: Schema.String, last_seq: Schema.Number }) }))

/** Creates a room owned by `owner` with `members`; returns its id. */
export const createRoom = (
  baseUrl: string,
  owner: TestUser,
  members: ReadonlyArray<TestUser>,
  type: "group" | "channel" | "direct" = "group"
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const result = yield* request(baseUrl, "POST", "/api/v1/rooms", {
      token: owner.token,
      json: { name: `room ${randomBytes(3).toString("hex")}`, type, member_ids: members.map((m) => m.id) }
    })
    const data = yield* expectData(result, 201, decodeRoom)
    return data.room.id
  })

/** `POST /api/v1/rooms/{id}/leave` as `user`; returns the raw result. */
export const leaveRoom = (baseUrl: string, user: TestUser, roomId: string) =>
  request(baseUrl, "POST", `/api/v1/rooms/${roomId}/leave`, { token: user.token })

export const HistoryMessage = Schema.Struct({
  id: Schema.String,
  room_id: Schema.String,
  seq: Schema.Number,
  sender: Schema.Struct({ id: Schema.String, username: Schema.String }),
  content: Schema.String,
  msg_type: Schema.String,
  client_msg_id: Schema.NullOr(Schema.String)
})
export type HistoryMessage = typeof HistoryMessage.Type

const decodeHistory = envelope(Schema.Struct({ messages: Schema.Array(HistoryMessage), has_more: Schema.Boolean }))

/** `GET /api/v1/rooms/{id}/messages?…` as `user`: the raw result. */
export const historyRequest = (baseUrl: string, user: TestUser, roomId: string, query: string) =>
  request(baseUrl, "GET", `/api/v1/rooms/${roomId}/messages?${query}`, { token: user.token })

/** Every message of the room, oldest first, paging with `after_seq` (API.md §5 catch-up). */
export const fullHistory = (baseUrl: string, user: TestUser, roomId: string): Effect.Effect<ReadonlyArray<HistoryMessage>> =>
  Effect.gen(function*() {
    const all: Array<HistoryMessage> = []
    let afterSeq = 0
    while (true) {
      const result = yield* historyRequest(baseUrl, user, roomId, `after_seq=${afterSeq}&limit=100`)
      const page = yield* expectData(result, 200, decodeHistory)
      all.push(...page.messages)
      const last = page.messages.at(-1)
      if (!page.has_more || last === undefined) return all
      afterSeq = last.seq
    }
  })

/** The HTTP status of `GET /ready` (0 when the process no longer answers). */
export const readyStatus = (baseUrl: string) => Effect.map(request(baseUrl, "GET", "/ready"), (r) => r.status)

/** The sum of a Prometheus metric's samples on `/metrics` at `metricsUrl` (0 when absent or unreachable). */
export const metricValue = (metricsUrl: string, name: string): Effect.Effect<number> =>
  Effect.promise(async () => {
    const text = await fetch(`${metricsUrl}/metrics`).then((r) => r.text(), () => "")
    let total = 0
    for (const line of text.split("\n")) {
      const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
      if (match !== null && match[1] === name) total += Number(match[3])
    }
    return total
  })
