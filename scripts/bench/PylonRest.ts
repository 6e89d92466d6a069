/**
 * The REST calls the benchmark needs to set up its load (API.md §3–§4): register users and
 * create group rooms. Responses are decoded with small Schemas of just the fields used.
 */
import { Effect, Schema } from "effect"
import { BenchError } from "./BenchError.ts"

export interface BenchUser {
  readonly id: string
  readonly username: string
  readonly token: string
}

const Envelope = <S extends Schema.Top>(data: S) => Schema.Struct({ success: Schema.Literal(true), data })

const AuthResponse = Envelope(Schema.Struct({
  user: Schema.Struct({ id: Schema.String, username: Schema.String }),
  token: Schema.String
}))

const RoomResponse = Envelope(Schema.Struct({ room: Schema.Struct({ id: Schema.String }) }))

const post = Effect.fnUntraced(function*<S extends Schema.Top & { readonly DecodingServices: never }>(
  step: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  schema: S
) {
  const response = yield* Effect.tryPromise({
    try: async () => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body)
      })
      const json: unknown = await res.json()
      return { status: res.status, json }
    },
    catch: (cause) => new BenchError({ step, message: `POST ${url} failed: ${String(cause)}` })
  })
  if (response.status >= 300) {
    return yield* new BenchError({ step, message: `POST ${url} → ${response.status} ${JSON.stringify(response.json)}` })
  }
  return yield* Schema.decodeUnknownEffect(schema)(response.json).pipe(
    Effect.mapError((error) => new BenchError({ step, message: `POST ${url}: unexpected response: ${error.message}` }))
  )
})

/** Registers `count` users `<prefix>_<i>` (a few at a time: argon2 hashing is the slow part). */
export const registerUsers = Effect.fn("PylonRest.registerUsers")(function*(
  gatewayUrl: string,
  clientAddress: string,
  prefix: string,
  count: number
) {
  return yield* Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      post(
        "register",
        `${gatewayUrl}/api/v1/auth/register`,
        { username: `${prefix}_${i}`, email: `${prefix}_${i}@bench.example.com`, password: `bench-password-${prefix}` },
        { "x-forwarded-for": clientAddress },
        AuthResponse
      ).pipe(Effect.map(({ data }): BenchUser => ({ id: data.user.id, username: data.user.username, token: data.token }))),
    { concurrency: 4 }
  )
})

/** Creates a group room owned by `owner` with `members` (the owner excluded); returns its id. */
export const createGroupRoom = Effect.fn("PylonRest.createGroupRoom")(function*(
  gatewayUrl: string,
  owner: BenchUser,
  name: string,
  members: ReadonlyArray<BenchUser>
) {
  const { data } = yield* post(
    "create room",
    `${gatewayUrl}/api/v1/rooms`,
    { name, type: "group", member_ids: members.filter((m) => m.id !== owner.id).map((m) => m.id) },
    { authorization: `Bearer ${owner.token}` },
    RoomResponse
  )
  return data.room.id
})

/** The gateway's `pylon_ws_connections` gauge from `/metrics` on its metrics port (undefined when not exposed). */
export const gatewayConnections = (metricsUrl: string) =>
  Effect.tryPromise({
    try: async () => {
      const text = await (await fetch(`${metricsUrl}/metrics`)).text()
      const value = /^pylon_ws_connections(?:\{[^}]*\})?\s+(\S+)/m.exec(text)?.[1]
      return value === undefined ? undefined : Number(value)
    },
    catch: (cause) => new BenchError({ step: "metrics", message: `GET ${metricsUrl}/metrics failed: ${String(cause)}` })
  })

/** Polls the gauge until it is at most `target` (sockets closed on the client are released by the gateway asynchronously). */
export const waitForConnections = Effect.fnUntraced(function*(metricsUrl: string, target: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  let value = yield* gatewayConnections(metricsUrl)
  while (value !== undefined && value > target && Date.now() < deadline) {
    yield* Effect.sleep("250 millis")
    value = yield* gatewayConnections(metricsUrl)
  }
  return value
})
