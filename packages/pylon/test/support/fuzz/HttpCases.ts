/**
 * The REST surface of API.md as data (every route with its method, auth, body/query Schemas and
 * success Schema) and the fast-check arbitrary of one HTTP fuzz case against it: a route, maybe
 * the wrong method, a path id (a live fixture, a random UUID or junk), a query string and body
 * built from the contract Schemas and then mutated, a credential (valid, another user's, forged,
 * expired, malformed or none) and a content type (right, wrong or missing).
 */
import { Schema } from "effect"
import fc from "fast-check"
import { AuthResult, LoginRequest, LogoutResult, MeResponse, RefreshRequest, RegisterRequest, TokenPair } from "@pylon/contracts/Auth"
import { HealthResponse } from "@pylon/contracts/Health"
import { GetMessagesQuery, MessagesResponse } from "@pylon/contracts/Messages"
import { NotificationsQuery, NotificationsResponse, ReadAllResult, ReadResult } from "@pylon/contracts/Notifications"
import {
  ChannelsQuery,
  CreateRoomRequest,
  JoinResult,
  LeaveResult,
  MembersResponse,
  RoomResponse,
  RoomsResponse
} from "@pylon/contracts/Rooms"
import { mutateJson, mutateQuery, nastyString, percentEncode } from "./Mutations.ts"
import type { MutationOptions, Payload } from "./Mutations.ts"
import { ph, ROOM_FIXTURES } from "./Placeholders.ts"
import type { FixtureName } from "./Placeholders.ts"
import { shapedJson, validJson } from "./SchemaSamples.ts"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "HEAD"

export interface RouteSpec {
  /** `POST /api/v1/rooms/{id}/join` — the key of the per-endpoint counts. */
  readonly name: string
  readonly method: "GET" | "POST"
  /** Path with `{id}` where the path id goes. */
  readonly path: string
  readonly auth: boolean
  /** Fixtures that are good values for `{id}`. */
  readonly ids?: ReadonlyArray<FixtureName>
  /** Schema of the success `data` (2xx bodies must decode with it). */
  readonly response: Schema.Top
  /** Relative share of the cases. */
  readonly weight: number
  readonly body?: fc.Arbitrary<unknown>
  readonly query?: fc.Arbitrary<Readonly<Record<string, string>>>
}

const PASSWORD_OK = "correct horse battery staple"

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value } : {}

const asStrings = (value: unknown): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(asRecord(value))) if (typeof v === "string") out[k] = v
  return out
}

const queryOf = (schema: Schema.Codec<unknown, unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: validJson(schema).map(asStrings) },
    { weight: 1, arbitrary: shapedJson(schema).map(asStrings) }
  )

const registerBody = fc.oneof(
  { weight: 6, arbitrary: validJson(RegisterRequest) },
  { weight: 1, arbitrary: fc.constant({ username: ph("selfUsername"), email: ph("selfEmail"), password: PASSWORD_OK }) },
  { weight: 2, arbitrary: shapedJson(RegisterRequest) }
)

const loginBody = fc.oneof(
  { weight: 3, arbitrary: validJson(LoginRequest) },
  { weight: 1, arbitrary: fc.constant({ email: ph("selfEmail"), password: ph("selfPassword") }) },
  { weight: 1, arbitrary: fc.constant({ email: ph("selfEmail"), password: "wrong password!" }) },
  { weight: 2, arbitrary: shapedJson(LoginRequest) }
)

const refreshBody = fc.oneof(
  { weight: 3, arbitrary: validJson(RefreshRequest) },
  { weight: 2, arbitrary: fc.constant({ refresh_token: ph("refreshToken") }) },
  { weight: 1, arbitrary: fc.constant({ refresh_token: ph("staleRefreshToken") }) }
)

const createRoomBody = fc.oneof(
  { weight: 3, arbitrary: validJson(CreateRoomRequest) },
  { weight: 3, arbitrary: validJson(CreateRoomRequest).map((room) => ({ ...asRecord(room), member_ids: [ph("otherUserId")] })) },
  { weight: 1, arbitrary: validJson(CreateRoomRequest).map((room) => ({ ...asRecord(room), member_ids: [ph("selfUserId"), ph("otherUserId"), ph("otherUserId")] })) },
  { weight: 2, arbitrary: shapedJson(CreateRoomRequest) }
)

const messagesQuery = fc.oneof(
  { weight: 4, arbitrary: queryOf(GetMessagesQuery) },
  { weight: 1, arbitrary: fc.constant({ before_id: ph("messageId"), limit: "10" }) },
  { weight: 1, arbitrary: fc.nat({ max: 5 }).map((n) => ({ after_seq: String(n) })) }
)

const notificationsQuery = fc.oneof(
  { weight: 4, arbitrary: queryOf(NotificationsQuery) },
  { weight: 1, arbitrary: fc.constant({ unread_only: "true", limit: "1" }) }
)

/** Every REST route of API.md (plus the operational ones), with its share of the cases. */
export const ROUTES: ReadonlyArray<RouteSpec> = [
  { name: "POST /api/v1/auth/register", method: "POST", path: "/api/v1/auth/register", auth: false, response: AuthResult, weight: 4, body: registerBody },
  { name: "POST /api/v1/auth/login", method: "POST", path: "/api/v1/auth/login", auth: false, response: AuthResult, weight: 4, body: loginBody },
  { name: "POST /api/v1/auth/refresh", method: "POST", path: "/api/v1/auth/refresh", auth: false, response: TokenPair, weight: 5, body: refreshBody },
  { name: "POST /api/v1/auth/logout", method: "POST", path: "/api/v1/auth/logout", auth: true, response: LogoutResult, weight: 4 },
  { name: "GET /api/v1/users/me", method: "GET", path: "/api/v1/users/me", auth: true, response: MeResponse, weight: 5 },
  { name: "GET /api/v1/rooms", method: "GET", path: "/api/v1/rooms", auth: true, response: RoomsResponse, weight: 4 },
  { name: "POST /api/v1/rooms", method: "POST", path: "/api/v1/rooms", auth: true, response: RoomResponse, weight: 10, body: createRoomBody },
  { name: "GET /api/v1/rooms/{id}", method: "GET", path: "/api/v1/rooms/{id}", auth: true, ids: ROOM_FIXTURES, response: RoomResponse, weight: 8 },
  { name: "GET /api/v1/rooms/{id}/members", method: "GET", path: "/api/v1/rooms/{id}/members", auth: true, ids: ROOM_FIXTURES, response: MembersResponse, weight: 6 },
  { name: "POST /api/v1/rooms/{id}/join", method: "POST", path: "/api/v1/rooms/{id}/join", auth: true, ids: ROOM_FIXTURES, response: JoinResult, weight: 6 },
  { name: "POST /api/v1/rooms/{id}/leave", method: "POST", path: "/api/v1/rooms/{id}/leave", auth: true, ids: ["channel", "foreignRoom", "ownRoom"], response: LeaveResult, weight: 5 },
  {
    name: "GET /api/v1/rooms/{id}/messages",
    method: "GET",
    path: "/api/v1/rooms/{id}/messages",
    auth: true,
    ids: ROOM_FIXTURES,
    response: MessagesResponse,
    weight: 12,
    query: messagesQuery
  },
  { name: "GET /api/v1/notifications", method: "GET", path: "/api/v1/notifications", auth: true, response: NotificationsResponse, weight: 8, query: notificationsQuery },
  { name: "POST /api/v1/notifications/{id}/read", method: "POST", path: "/api/v1/notifications/{id}/read", auth: true, ids: ["notificationId"], response: ReadResult, weight: 5 },
  { name: "POST /api/v1/notifications/read-all", method: "POST", path: "/api/v1/notifications/read-all", auth: true, response: ReadAllResult, weight: 3 },
  { name: "GET /api/v1/channels", method: "GET", path: "/api/v1/channels", auth: true, response: RoomsResponse, weight: 2, query: queryOf(ChannelsQuery) },
  { name: "GET /health", method: "GET", path: "/health", auth: false, response: HealthResponse, weight: 1 },
  { name: "GET /ready", method: "GET", path: "/ready", auth: false, response: Schema.Unknown, weight: 1 }
]

/** Unknown paths: every one must be the 404 envelope. */
export const UNKNOWN_ROUTE = "(unknown route)"

/** Who the request claims to be. Resolved against live fixtures by the campaign. */
export type Credential =
  | { readonly kind: "none" }
  | { readonly kind: "valid" }
  | { readonly kind: "other-user" }
  /** A session of the fuzz user that only logout cases use (logout revokes it). */
  | { readonly kind: "disposable" }
  /**
   * A JWT signed with the server's secret: the fuzz user's claims with `set` replacing fields
   * and `shift` moving `iat`/`exp` by that many seconds.
   */
  | { readonly kind: "signed"; readonly set: Readonly<Record<string, unknown>>; readonly shift: ClaimShift; readonly label: string }
  /** The raw `Authorization` header value. */
  | { readonly kind: "raw"; readonly header: string; readonly label: string }

export interface ClaimShift {
  readonly iat?: number
  readonly exp?: number
}

export interface HttpCase {
  /** Route name (or `UNKNOWN_ROUTE`). */
  readonly route: string
  readonly method: Method
  /** Path and query, with placeholders. */
  readonly target: string
  readonly credential: Credential
  readonly contentType: string | undefined
  readonly body: Payload | undefined
  /** How the case was made, for the report ("body:wrong-type:name", "id:junk"…). */
  readonly labels: ReadonlyArray<string>
}

export interface HttpCaseOptions extends MutationOptions {
  /** Bodies over the 1 MiB limit per 4,100 bodies (each costs a megabyte). */
  readonly hugeBodyWeight: number
  /**
   * Longest generated string that goes into a URL (percent-encoding makes it up to 12 times
   * longer); keeps ordinary cases under Node's 16 KiB request-head limit.
   */
  readonly maxUrlHuge: number
  /** Requests whose head (URL or a header) exceeds Node's 16 KiB limit, per ~100 cases. */
  readonly oversizedHeadWeight: number
}

const OTHER_METHODS: ReadonlyArray<Method> = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

const JUNK_SEGMENTS: ReadonlyArray<string> = [
  "..",
  ".",
  "%2e%2e",
  "%",
  "%ZZ",
  "%2F",
  "%00",
  "a%2Fb",
  "null",
  "undefined",
  "0",
  "-1",
  "1e5",
  "NaN",
  "%20",
  "%F0%9F%98%80",
  "%ED%A0%80",
  "%C0%AE",
  "%FF",
  "x".repeat(4000)
]

const pathId = (route: RouteSpec, options: HttpCaseOptions): fc.Arbitrary<{ readonly segment: string; readonly label: string }> => {
  const fixtures = route.ids ?? []
  return fc.oneof(
    {
      weight: fixtures.length > 0 ? 8 : 0,
      arbitrary: fc.constantFrom(...(fixtures.length > 0 ? fixtures : ["ownRoom" as const])).map((name) => ({ segment: ph(name), label: `id:${name}` }))
    },
    { weight: 2, arbitrary: fc.uuid().map((uuid) => ({ segment: uuid, label: "id:random-uuid" })) },
    { weight: 1, arbitrary: fc.uuid().map((uuid) => ({ segment: uuid.toUpperCase(), label: "id:upper-uuid" })) },
    { weight: 2, arbitrary: fc.constantFrom(...JUNK_SEGMENTS).map((segment) => ({ segment, label: "id:junk" })) },
    {
      weight: 2,
      // An empty segment would make `/rooms/{id}` the list route `/rooms/`, a different endpoint.
      arbitrary: nastyString({ maxHuge: options.maxUrlHuge }).map((text) => percentEncode(text)).filter((segment) => segment.length > 0)
        .map((segment) => ({ segment, label: "id:nasty" }))
    }
  )
}

/** Content types: mostly right; some wrong, missing or odd. */
const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  {
    weight: 4,
    arbitrary: fc.constantFrom<string | undefined>(
      undefined,
      "text/plain",
      "text/html",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=----fuzz",
      "application/xml",
      "application/octet-stream",
      "application/json; charset=utf-16",
      "application/json; charset=latin1",
      "APPLICATION/JSON",
      "application/json;;;",
      "application/jsonx",
      "application/vnd.api+json",
      "*/*",
      "",
      ";",
      "application/json\tcharset=utf-8"
    )
  }
)

const HEADER_JUNK: ReadonlyArray<string> = [
  "Bearer",
  "Bearer ",
  "Bearer  ",
  "bearer",
  "Basic dXNlcjpwYXNzd29yZA==",
  "Token abc",
  "Bearer a.b",
  "Bearer a.b.c",
  "Bearer ..",
  "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMTkwYTZlMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDAifQ.",
  "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
  "Bearer x Bearer y",
  "Bearer \u00ff\u00fe"
]

/** Claims for a JWT signed with the right secret: the fuzz user's, with one thing gone wrong. */
export const signedCredential: fc.Arbitrary<Credential> = fc.oneof(
  fc.constant<Credential>({ kind: "signed", label: "claims:expired", set: {}, shift: { iat: -1200, exp: -600 } }),
  fc.constant<Credential>({ kind: "signed", label: "claims:too-long-lived", shift: { exp: 10 * 365 * 86_400 }, set: {} }),
  fc.constant<Credential>({ kind: "signed", label: "claims:issued-in-future", shift: { iat: 3600, exp: 3700 }, set: {} }),
  fc.constant<Credential>({ kind: "signed", label: "claims:refresh-type", set: { token_type: "refresh" }, shift: {} }),
  fc.constant<Credential>({ kind: "signed", label: "claims:unknown-user", set: { sub: "0190a6e0-0000-7000-8000-000000000001" }, shift: {} }),
  fc.constant<Credential>({ kind: "signed", label: "claims:unknown-session", set: { sid: "0190a6e0-0000-7000-8000-000000000002" }, shift: {} }),
  fc.tuple(
    fc.constantFrom("sub", "sid", "jti", "username", "token_type", "iat", "exp"),
    fc.oneof(fc.constantFrom<unknown>(null, 0, -1, 1.5, 1e300, true, [], {}, ""), nastyString({ maxHuge: 600 }))
  ).map(([key, value]): Credential => ({ kind: "signed", label: `claims:bad-${key}`, set: { [key]: value }, shift: {} }))
)

/**
 * Logout revokes the session it is called with, so it only ever gets the disposable session or
 * credentials that are not a live session of the fuzz user or the peer (their tokens must stay
 * valid for the whole campaign).
 */
const logoutCredential: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Credential>({ kind: "disposable" }) },
  { weight: 1, arbitrary: fc.constant<Credential>({ kind: "none" }) },
  { weight: 1, arbitrary: fc.constantFrom(...HEADER_JUNK).map((header): Credential => ({ kind: "raw", header, label: "header-junk" })) }
)

const credential = (route: RouteSpec): fc.Arbitrary<Credential> =>
  route.name.endsWith("/logout") ? logoutCredential : fc.oneof(
    { weight: route.auth ? 14 : 2, arbitrary: fc.constant<Credential>({ kind: "valid" }) },
    { weight: route.auth ? 2 : 1, arbitrary: fc.constant<Credential>({ kind: "other-user" }) },
    { weight: 2, arbitrary: fc.constant<Credential>({ kind: "none" }) },
    { weight: 2, arbitrary: signedCredential },
    { weight: 1, arbitrary: fc.constantFrom(...HEADER_JUNK).map((header): Credential => ({ kind: "raw", header, label: "header-junk" })) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: "binary-ascii", maxLength: 300 })
        .map((junk): Credential => ({ kind: "raw", header: `Bearer ${junk.replace(/[^\x20-\x7e]/g, "")}`, label: "bearer-garbage" }))
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 8000 }).map((n): Credential => ({ kind: "raw", header: `Bearer ${"A".repeat(n)}`, label: "bearer-huge" }))
    }
  )

const hugeBody = (limitBytes: number): fc.Arbitrary<Payload> =>
  fc.integer({ min: limitBytes + 1, max: limitBytes + 64 * 1024 }).map((size) => ({
    mutation: "over-1MiB",
    data: `{"name":"${"x".repeat(size)}"}`
  }))

/** One case against `route`. */
const routeCase = (route: RouteSpec, options: HttpCaseOptions): fc.Arbitrary<HttpCase> => {
  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Method>(route.method) },
    { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS.filter((m) => m !== route.method)) }
  )
  const id = route.path.includes("{id}") ? pathId(route, options) : fc.constant(undefined)
  const query = route.query === undefined
    ? fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: mutateQuery(fc.constant({}), { maxHuge: options.maxUrlHuge }) })
    : mutateQuery(route.query, { maxHuge: options.maxUrlHuge })
  const body = route.body === undefined
    ? fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: mutateJson(fc.constant({}), options) }
    )
    : fc.oneof(
      { weight: 4000, arbitrary: mutateJson(route.body, options) },
      { weight: 100, arbitrary: fc.constant(undefined) },
      { weight: options.hugeBodyWeight, arbitrary: hugeBody(1024 * 1024) }
    )
  return fc.record({ method, id, query, body, credential: credential(route), contentType }).map((c): HttpCase => {
    const path = c.id === undefined ? route.path : route.path.replace("{id}", () => c.id?.segment ?? "")
    const target = c.query === undefined || c.query.data.length === 0 ? path : `${path}?${String(c.query.data)}`
    const labels = [
      ...(c.method === route.method ? [] : [`method:${c.method}`]),
      ...(c.id === undefined ? [] : [c.id.label]),
      ...(c.query === undefined ? [] : [`query:${c.query.mutation}`]),
      ...(c.body === undefined ? [] : [`body:${c.body.mutation}`]),
      `auth:${c.credential.kind === "signed" || c.credential.kind === "raw" ? c.credential.label : c.credential.kind}`,
      `content-type:${c.contentType ?? "(none)"}`
    ]
    return {
      route: route.name,
      method: c.method,
      target,
      credential: c.credential,
      contentType: c.body === undefined ? undefined : c.contentType,
      body: c.body,
      labels
    }
  })
}

const unknownRouteCase = (options: HttpCaseOptions): fc.Arbitrary<HttpCase> =>
  fc.record({
    method: fc.constantFrom(...OTHER_METHODS),
    path: fc.oneof(
      // Not "/": the gateway serves the web client's page there (WebAssets.ts).
      fc.constantFrom("/api", "/api/v1", "/api/v2/rooms", "/api/v1/rooms/", "//api/v1/rooms", "/api/v1/rooms/a/b/c", "/API/V1/ROOMS", "/ws/x", "/%2e%2e/etc/passwd", "/metrics/", "/api/v1/notifications/x/y"),
      nastyString({ maxHuge: options.maxUrlHuge }).map((text) => `/${percentEncode(text)}`).filter((path) => path !== "/")
    )
  }).map(({ method, path }): HttpCase => ({
    route: UNKNOWN_ROUTE,
    method,
    target: path,
    credential: { kind: "valid" },
    contentType: undefined,
    body: undefined,
    labels: ["unknown-route"]
  }))

/** A request head over 16 KiB: a long query string or a long header on an ordinary route. */
const oversizedHeadCase: fc.Arbitrary<HttpCase> = fc.record({
  route: fc.constantFrom(...ROUTES),
  size: fc.integer({ min: 17 * 1024, max: 64 * 1024 }),
  inHeader: fc.boolean()
}).map(({ route, size, inHeader }): HttpCase => ({
  route: route.name,
  method: route.method,
  target: `${route.path.replace("{id}", () => ph("ownRoom"))}${inHeader ? "" : `?q=${"x".repeat(size)}`}`,
  credential: inHeader ? { kind: "raw", header: `Bearer ${"A".repeat(size)}`, label: "bearer-over-16KiB" } : { kind: "valid" },
  contentType: undefined,
  body: undefined,
  labels: [inHeader ? "head:header-over-16KiB" : "head:url-over-16KiB"]
}))

/** One HTTP case: a route picked by weight (a few unknown paths and, if asked, oversized heads too). */
export const httpCase = (options: HttpCaseOptions): fc.Arbitrary<HttpCase> =>
  fc.oneof(
    ...ROUTES.map((route) => ({ weight: route.weight, arbitrary: routeCase(route, options) })),
    { weight: 2, arbitrary: unknownRouteCase(options) },
    { weight: options.oversizedHeadWeight, arbitrary: oversizedHeadCase }
  )
