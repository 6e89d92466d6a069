/**
 * The live world a fuzz campaign aims at, made over the public API: the fuzz user (whose token
 * most cases carry) and a peer, the fuzz user's rooms in every relation (owner, member, joinable
 * channel, foreign, direct), a real message and notification id, and the sessions the auth
 * cases consume — a refresh-token chain (rotated as refresh cases succeed) and a disposable
 * session for logout (re-created by logging in after each successful logout). It also mints
 * JWTs with the server's secret for the "signed but wrong" credentials.
 */
import { createHmac, randomBytes } from "node:crypto"
import type * as Http from "node:http"
import { Data, Effect, Schema } from "effect"
import type { Credential } from "./HttpCases.ts"
import type { FixtureName, FixtureValues, RoomFixture } from "./Placeholders.ts"
import { ROOM_FIXTURES } from "./Placeholders.ts"
import { FuzzSocket, sendHttp } from "./Transport.ts"

export class FuzzSetupError extends Data.TaggedError("FuzzSetupError")<{ readonly message: string }> {}

export const FIXTURE_PASSWORD = "fuzz password 12345"

const AuthData = Schema.Struct({
  success: Schema.Literal(true),
  data: Schema.Struct({ user: Schema.Struct({ id: Schema.String, username: Schema.String, email: Schema.String }), token: Schema.String, refresh_token: Schema.String })
})
const TokenData = Schema.Struct({ success: Schema.Literal(true), data: Schema.Struct({ token: Schema.String, refresh_token: Schema.String }) })
const RoomData = Schema.Struct({ success: Schema.Literal(true), data: Schema.Struct({ room: Schema.Struct({ id: Schema.String }) }) })
const NotificationsData = Schema.Struct({
  success: Schema.Literal(true),
  data: Schema.Struct({ notifications: Schema.Array(Schema.Struct({ id: Schema.String })) })
})
const Claims = Schema.Struct({ sub: Schema.String, sid: Schema.String, username: Schema.String, jti: Schema.String })
const AckFrame = Schema.Struct({ type: Schema.Literal("ack"), message_id: Schema.String, seq: Schema.Number })

interface Account {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly token: string
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** An HS256 JWT over `claims` with `secret` (what the gateway issues, but with claims of our choosing). */
export const signJwt = (claims: unknown, secret: string): string => {
  const signingInput = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url(claims)}`
  return `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`
}

const claimsOf = (token: string) =>
  Schema.decodeUnknownEffect(Schema.fromJsonString(Claims))(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")).pipe(
    Effect.mapError(() => new FuzzSetupError({ message: "the server's access token has no readable claims" }))
  )

export interface FixtureConfig {
  readonly baseUrl: string
  readonly agent: Http.Agent
  /** The server's JWT_SECRET (a wrong one only makes the "signed" credentials plain forgeries). */
  readonly jwtSecret: string
  readonly timeoutMs: number
}

/** A REST call during setup: the decoded success body, or a setup error naming the step. */
const call = <A>(config: FixtureConfig, step: string, method: string, path: string, schema: Schema.Codec<A, unknown>, options: { readonly token?: string; readonly json?: unknown; readonly status?: number } = {}) =>
  Effect.gen(function*() {
    const headers: Record<string, string> = {}
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    if (options.json !== undefined) headers["content-type"] = "application/json"
    const outcome = yield* Effect.promise(() =>
      sendHttp(config.agent, new URL(config.baseUrl), {
        method,
        target: path,
        headers,
        body: options.json === undefined ? undefined : new TextEncoder().encode(JSON.stringify(options.json))
      }, config.timeoutMs)
    )
    if (!outcome.sent || outcome.observation.status !== (options.status ?? 200)) {
      const got = outcome.sent ? `${outcome.observation.status} ${outcome.observation.body.slice(0, 300)}` : outcome.reason
      return yield* new FuzzSetupError({ message: `${step}: ${method} ${path} answered ${got}` })
    }
    return yield* Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(outcome.observation.body).pipe(
      Effect.mapError(() => new FuzzSetupError({ message: `${step}: unexpected body ${outcome.observation.body.slice(0, 300)}` }))
    )
  })

export class Fixtures {
  private readonly lastSeq = new Map<string, number>()
  private refreshToken: string
  private staleRefreshToken: string
  private refreshAlive = true
  private disposableToken: string | undefined
  /** Logins done after setup to replace consumed sessions. */
  relogins = 0

  private readonly config: FixtureConfig
  readonly self: Account
  readonly peer: Account
  readonly rooms: Readonly<Record<RoomFixture, string>>
  private readonly selfSession: { readonly sid: string; readonly jti: string }
  private readonly messageId: string
  private readonly notificationId: string

  private constructor(fields: {
    readonly config: FixtureConfig
    readonly self: Account
    readonly peer: Account
    readonly selfSession: { readonly sid: string; readonly jti: string }
    readonly rooms: Readonly<Record<RoomFixture, string>>
    readonly messageId: string
    readonly notificationId: string
    readonly refreshToken: string
    readonly disposableToken: string
  }) {
    this.config = fields.config
    this.self = fields.self
    this.peer = fields.peer
    this.selfSession = fields.selfSession
    this.rooms = fields.rooms
    this.messageId = fields.messageId
    this.notificationId = fields.notificationId
    this.refreshToken = fields.refreshToken
    this.staleRefreshToken = fields.refreshToken
    this.disposableToken = fields.disposableToken
  }

  /** Registers the two users, creates the rooms, a message and (when the server makes one) a notification. */
  static setup(config: FixtureConfig): Effect.Effect<Fixtures, FuzzSetupError> {
    return Effect.gen(function*() {
      const suffix = randomBytes(4).toString("hex")
      const register = (prefix: string) =>
        Effect.map(
          call(config, `register ${prefix}`, "POST", "/api/v1/auth/register", AuthData, {
            status: 201,
            json: { username: `${prefix}_${suffix}`, email: `${prefix}_${suffix}@fuzz.example`, password: FIXTURE_PASSWORD }
          }),
          ({ data }): Account => ({ id: data.user.id, username: data.user.username, email: data.user.email, token: data.token })
        )
      const self = yield* register("fuzz")
      const peer = yield* register("peer")
      const login = (step: string) =>
        Effect.map(call(config, step, "POST", "/api/v1/auth/login", TokenData, { json: { email: self.email, password: FIXTURE_PASSWORD } }), ({ data }) => data)
      const refreshSession = yield* login("login (refresh session)")
      const disposable = yield* login("login (disposable session)")
      const claims = yield* claimsOf(self.token)

      const createRoom = (step: string, owner: Account, type: string, members: ReadonlyArray<Account>, status = 201) =>
        Effect.map(
          call(config, step, "POST", "/api/v1/rooms", RoomData, {
            token: owner.token,
            status,
            json: { name: `${step} ${suffix}`, type, member_ids: members.map((m) => m.id) }
          }),
          ({ data }) => data.room.id
        )
      const rooms: Record<RoomFixture, string> = {
        ownRoom: yield* createRoom("own group", self, "group", [peer]),
        memberRoom: yield* createRoom("member group", peer, "group", [self]),
        channel: yield* createRoom("channel", peer, "channel", []),
        foreignRoom: yield* createRoom("foreign group", peer, "group", []),
        directRoom: yield* createRoom("direct", self, "direct", [peer])
      }

      // The peer writes in the fuzz user's room: a real message id, and a notification for the fuzz user.
      const wsUrl = `${config.baseUrl.replace(/^http/, "ws")}/ws`
      const socket = yield* Effect.tryPromise({
        try: () => FuzzSocket.open(wsUrl, peer.token, config.timeoutMs),
        catch: (cause) => new FuzzSetupError({ message: `peer WebSocket: ${String(cause)}` })
      })
      yield* Effect.promise(() => socket.exchange(JSON.stringify({ type: "join", room_id: rooms.ownRoom }), false, config.timeoutMs))
      const answer = yield* Effect.promise(() =>
        socket.exchange(JSON.stringify({ type: "message", room_id: rooms.ownRoom, content: "fuzz fixture @fuzz", client_msg_id: "fixture-1" }), false, config.timeoutMs)
      )
      socket.close()
      const ack = answer.frames.map((text) => Schema.decodeUnknownOption(Schema.fromJsonString(AckFrame))(text)).find((o) => o._tag === "Some")
      if (ack === undefined || ack._tag !== "Some") {
        return yield* new FuzzSetupError({ message: `fixture message got no ack: ${answer.frames.join(" ")}` })
      }
      const notificationId = yield* Fixtures.awaitNotification(config, self.token)
      const fixtures = new Fixtures({
        config,
        self,
        peer,
        selfSession: { sid: claims.sid, jti: claims.jti },
        rooms,
        messageId: ack.value.message_id,
        notificationId,
        refreshToken: refreshSession.refresh_token,
        disposableToken: disposable.token
      })
      fixtures.lastSeq.set(rooms.ownRoom, ack.value.seq)
      return fixtures
    })
  }

  /** The fuzz user's first notification id (a random UUID if none arrives in time, e.g. no notification service). */
  private static awaitNotification(config: FixtureConfig, token: string) {
    return Effect.gen(function*() {
      const deadline = Date.now() + 20_000
      while (Date.now() < deadline) {
        const page = yield* call(config, "notifications", "GET", "/api/v1/notifications?limit=1", NotificationsData, { token })
        const first = page.data.notifications[0]
        if (first !== undefined) return first.id
        yield* Effect.sleep("200 millis")
      }
      return crypto.randomUUID()
    })
  }

  /** Placeholder values right now. */
  get values(): FixtureValues {
    const strings: Record<FixtureName, string> = {
      ...this.rooms,
      selfUserId: this.self.id,
      otherUserId: this.peer.id,
      selfUsername: this.self.username,
      selfEmail: this.self.email,
      selfPassword: FIXTURE_PASSWORD,
      messageId: this.messageId,
      notificationId: this.notificationId,
      refreshToken: this.refreshToken,
      staleRefreshToken: this.staleRefreshToken
    }
    return {
      strings,
      number: (name) => {
        const room = ROOM_FIXTURES.find((r) => name === `recentSeq${r}`)
        return room === undefined ? 0 : Math.max(0, (this.lastSeq.get(this.rooms[room]) ?? 0) - 3)
      }
    }
  }

  /** A new group of the fuzz user and the peer (for the checks after a campaign). */
  get freshRoom(): Effect.Effect<string, FuzzSetupError> {
    return Effect.map(
      call(this.config, "fresh room", "POST", "/api/v1/rooms", RoomData, {
        token: this.self.token,
        status: 201,
        json: { name: `after the fuzz ${randomBytes(3).toString("hex")}`, type: "group", member_ids: [this.peer.id] }
      }),
      ({ data }) => data.room.id
    )
  }

  /** A room's highest seq seen on the fuzz connection (keeps `since_seq` replays short). */
  noteSeq(roomId: string, seq: number): void {
    if (seq > (this.lastSeq.get(roomId) ?? 0)) this.lastSeq.set(roomId, seq)
  }

  /** The refresh token a case is about to present as "current". */
  get currentRefreshToken(): string {
    return this.refreshToken
  }

  /** A refresh case presented `used`: rotate on success; on 401 for the current one the chain is dead (reuse detection). */
  observeRefresh(used: string, status: number, body: string): void {
    if (used !== this.refreshToken) return
    if (status === 200) {
      const decoded = Schema.decodeUnknownOption(Schema.fromJsonString(TokenData))(body)
      if (decoded._tag === "Some") {
        this.staleRefreshToken = this.refreshToken
        this.refreshToken = decoded.value.data.refresh_token
      }
    } else if (status === 401) {
      this.refreshAlive = false
    }
  }

  /** A logout with the disposable session succeeded: it is revoked now. */
  observeLogout(token: string, status: number): void {
    if (status === 200 && token === this.disposableToken) this.disposableToken = undefined
  }

  /** Logs in again for whatever the auth cases consumed. */
  replenish(): Effect.Effect<void, FuzzSetupError> {
    if (this.refreshAlive && this.disposableToken !== undefined) return Effect.void
    return Effect.map(
      call(this.config, "re-login", "POST", "/api/v1/auth/login", TokenData, { json: { email: this.self.email, password: FIXTURE_PASSWORD } }),
      (session) => {
        this.relogins++
        if (!this.refreshAlive) {
          this.refreshToken = session.data.refresh_token
          this.staleRefreshToken = session.data.refresh_token
          this.refreshAlive = true
        } else {
          this.disposableToken = session.data.token
        }
      }
    )
  }

  /** The `Authorization` header a credential stands for (undefined: none). */
  authorization(credential: Credential): string | undefined {
    switch (credential.kind) {
      case "none":
        return undefined
      case "valid":
        return `Bearer ${this.self.token}`
      case "other-user":
        return `Bearer ${this.peer.token}`
      case "disposable":
        // Never fall back to the main session: a logout would revoke it for the rest of the run.
        return `Bearer ${this.disposableToken ?? "disposable-session-already-logged-out"}`
      case "raw":
        return credential.header
      case "signed": {
        const now = Math.floor(Date.now() / 1000)
        const claims = {
          sub: this.self.id,
          username: this.self.username,
          sid: this.selfSession.sid,
          jti: this.selfSession.jti,
          token_type: "access",
          iat: now + (credential.shift.iat ?? 0),
          exp: now + (credential.shift.exp ?? 600),
          ...credential.set
        }
        return `Bearer ${signJwt(claims, this.config.jwtSecret)}`
      }
    }
  }
}
