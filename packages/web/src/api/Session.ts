/**
 * The signed-in session: tokens kept in localStorage (so a reload keeps the person signed in),
 * the access token refreshed before it expires or after `unauthenticated`, and refresh-token
 * rotation shared by every tab of the browser: a refresh runs under one Web Lock and re-reads the
 * stored pair first, so two tabs never present the same (single-use) refresh token — which the
 * server would treat as reuse and answer by revoking the whole session.
 *
 * Register, login and refresh go over Connect (`AuthService`); logout and `me` have no Connect RPC
 * and stay on REST.
 */
import { createClient } from "@connectrpc/connect"
import { Option, Schema } from "effect"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import type { LoginResponse } from "@pylon/proto-gen/auth/v1/auth"
import { LogoutResult, MeResponse } from "@pylon/contracts/Auth"
import { connectTransport, invalidResponse, rpc } from "./Connect.ts"
import { ApiError, request } from "./Rest.ts"
import type { RequestOptions } from "./Rest.ts"

const STORAGE_KEY = "pylon.session"
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000

const StoredSession = Schema.Struct({
  user: Schema.Struct({ id: Schema.String, username: Schema.String, email: Schema.String }),
  token: Schema.String,
  refresh_token: Schema.String,
  expires_at: Schema.Number
})
export type StoredSession = typeof StoredSession.Type
export type SessionUser = StoredSession["user"]

const decodeStored = Schema.decodeUnknownOption(Schema.fromJsonString(StoredSession))

export const readStoredSession = (): StoredSession | undefined =>
  Option.getOrUndefined(decodeStored(localStorage.getItem(STORAGE_KEY) ?? ""))

const store = (session: StoredSession | undefined): void => {
  if (session === undefined) localStorage.removeItem(STORAGE_KEY)
  else localStorage.setItem(STORAGE_KEY, JSON.stringify(session))
}

/** `AuthService` needs no token: one client for the page. */
const auth = createClient(AuthService, connectTransport())

/** An RFC 3339 expiry (the original wire has strings here) as epoch ms. */
const expiryMillis = (expiresAt: string): number => {
  const ms = Date.parse(expiresAt)
  if (Number.isNaN(ms)) throw invalidResponse()
  return ms
}

/** `RegisterResponse` has the same fields as `LoginResponse`. */
const fromAuth = (result: Omit<LoginResponse, "$typeName">): StoredSession => {
  if (result.user === undefined) throw invalidResponse()
  return {
    user: { id: result.user.id, username: result.user.username, email: result.user.email },
    token: result.token,
    refresh_token: result.refreshToken,
    expires_at: expiryMillis(result.expiresAt)
  }
}

export const register = async (username: string, email: string, password: string): Promise<StoredSession> => {
  const session = await rpc(async () => fromAuth(await auth.register({ username, email, password })))
  store(session)
  return session
}

export const login = async (email: string, password: string): Promise<StoredSession> => {
  const session = await rpc(async () => fromAuth(await auth.login({ email, password })))
  store(session)
  return session
}

const withLock = <A>(run: () => Promise<A>): Promise<A> =>
  typeof navigator.locks === "undefined"
    ? run()
    : new Promise<A>((resolve, reject) => {
      void navigator.locks.request("pylon.session.refresh", () => run().then(resolve, reject))
    })

/**
 * A fresh access token for `current`: the stored one if another tab already rotated the pair,
 * else a rotation (`AuthService.RefreshToken`). Resolves `undefined` when the session is over
 * (`unauthenticated`, or `invalid_argument` for a token the server no longer accepts).
 */
export const refresh = (current: StoredSession): Promise<StoredSession | undefined> =>
  withLock(async () => {
    const stored = readStoredSession()
    if (stored === undefined) return undefined
    if (stored.refresh_token !== current.refresh_token && stored.expires_at - Date.now() > REFRESH_MARGIN_MS) return stored
    try {
      const next = await rpc(async (): Promise<StoredSession> => {
        const pair = await auth.refreshToken({ refreshToken: stored.refresh_token })
        return { user: stored.user, token: pair.token, refresh_token: pair.refreshToken, expires_at: expiryMillis(pair.expiresAt) }
      })
      store(next)
      return next
    } catch (error) {
      if (error instanceof ApiError && (error.code === "unauthorized" || error.code === "bad_request")) {
        store(undefined)
        return undefined
      }
      throw error
    }
  })

export const needsRefresh = (session: StoredSession): boolean => session.expires_at - Date.now() < REFRESH_MARGIN_MS

/** Ends the session on the server (revokes its refresh-token family) and forgets it here. */
export const logout = async (session: StoredSession): Promise<void> => {
  store(undefined)
  await request("/api/v1/auth/logout", LogoutResult, { method: "POST", token: session.token }).catch(() => undefined)
}

/** Checks a stored session against the server (`GET /users/me`). */
export const me = (session: StoredSession) => request("/api/v1/users/me", MeResponse, { token: session.token })

/**
 * Authenticated requests for one signed-in session (REST here; Connect in `PylonRpc`, which uses
 * `token` and `renew`): the token is refreshed ahead of expiry and once more after a 401; `onSessionEnded` fires when the session cannot be renewed.
 */
export class SessionClient {
  private session: StoredSession
  private refreshing: Promise<StoredSession | undefined> | undefined
  constructor(session: StoredSession, private readonly onSessionEnded: () => void) {
    this.session = session
  }

  get current(): StoredSession {
    return this.session
  }

  /** Another tab stored a newer pair of the same session. */
  adopt(session: StoredSession): void {
    if (session.user.id === this.session.user.id) this.session = session
  }

  /** A valid access token (refreshing first when it is about to expire). */
  async token(): Promise<string> {
    if (needsRefresh(this.session)) await this.renew()
    return this.session.token
  }

  async renew(): Promise<void> {
    this.refreshing ??= refresh(this.session).finally(() => {
      this.refreshing = undefined
    })
    const next = await this.refreshing
    if (next === undefined) {
      this.onSessionEnded()
      throw new ApiError("unauthorized", 401, "Your session has ended. Please sign in again.")
    }
    this.session = next
  }

  async call<S extends Schema.Top & { readonly DecodingServices: never }>(
    path: string,
    schema: S,
    options: Omit<RequestOptions, "token"> = {}
  ): Promise<S["Type"]> {
    const token = await this.token()
    try {
      return await request(path, schema, { ...options, token })
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "unauthorized") throw error
      await this.renew()
      return request(path, schema, { ...options, token: this.session.token })
    }
  }
}
