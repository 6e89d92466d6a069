/**
 * Small HTTP client helpers over global `fetch` for the gateway's integration tests, plus the
 * envelope and payload shapes of API.md §1/§3 as the tests read them.
 */
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { expect } from "vitest"
import { Gateway } from "./GatewayHarness.ts"

export interface HttpResult {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  readonly body: unknown
  /** Wall-clock milliseconds from sending the request to having read the whole response. */
  readonly millis: number
}

export interface UserJson {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly display_name: string | null
  readonly avatar_url: string | null
  readonly created_at: string
}

export interface TokenPairJson {
  readonly token: string
  readonly refresh_token: string
  readonly expires_at: string
  readonly refresh_expires_at: string
}

export interface AuthResultJson extends TokenPairJson {
  readonly user: UserJson
}

export interface ErrorJson {
  readonly code: string
  readonly message: string
}

export interface RequestOptions {
  /** Serialised with `JSON.stringify` and sent as `application/json`. */
  readonly json?: unknown
  /** Sent verbatim (with `Content-Type: application/json`). */
  readonly raw?: string
  readonly headers?: Record<string, string>
  /** `Authorization: Bearer <token>` */
  readonly bearer?: string
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** One HTTP request to the harness's gateway; never fails (a network error is a defect). */
export const http = (method: string, path: string, options: RequestOptions = {}) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    const headers: Record<string, string> = { ...options.headers }
    const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json))
    if (body !== undefined) headers["content-type"] = "application/json"
    if (options.bearer !== undefined) headers["authorization"] = `Bearer ${options.bearer}`
    return yield* Effect.promise(async (): Promise<HttpResult> => {
      const started = performance.now()
      const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
      const text = await response.text()
      return { status: response.status, headers: response.headers, text, body: parseJson(text), millis: performance.now() - started }
    })
  })

export const post = (path: string, options: RequestOptions = {}) => http("POST", path, options)
export const get = (path: string, options: RequestOptions = {}) => http("GET", path, options)

/** Asserts a success envelope with `status` and returns its `data`. */
export const expectOk = <A>(result: HttpResult, status = 200): A => {
  expect({ status: result.status, body: result.body }).toMatchObject({ status, body: { success: true } })
  expect(Object.keys(result.body as object).sort()).toEqual(["data", "success"])
  return (result.body as { readonly data: A }).data
}

/** Asserts a failure envelope with `status` and `code` and returns its `error`. */
export const expectError = (result: HttpResult, status: number, code: string): ErrorJson => {
  expect({ status: result.status, body: result.body }).toMatchObject({ status, body: { success: false, error: { code } } })
  const error = (result.body as { readonly error: ErrorJson }).error
  expect(Object.keys(error).sort()).toEqual(["code", "message"])
  expect(typeof error.message).toBe("string")
  return error
}

/** `YYYY-MM-DDTHH:mm:ss.sssZ`: RFC 3339, UTC, milliseconds (API.md §1). */
export const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** A fresh username/email/password triple, unique across runs. */
export const newCredentials = (tag = "u") => {
  const suffix = randomBytes(5).toString("hex")
  return {
    username: `${tag}_${suffix}`,
    email: `${tag}.${suffix}@example.com`,
    password: `pw-${randomBytes(6).toString("hex")}`
  }
}

export const register = (credentials: { readonly username: string; readonly email: string; readonly password: string }) =>
  Effect.map(post("/api/v1/auth/register", { json: credentials }), (result) => expectOk<AuthResultJson>(result, 201))

export const login = (email: string, password: string) =>
  Effect.map(post("/api/v1/auth/login", { json: { email, password } }), (result) => expectOk<AuthResultJson>(result))

export const refresh = (refreshToken: string) => post("/api/v1/auth/refresh", { json: { refresh_token: refreshToken } })

export const me = (token: string) => get("/api/v1/users/me", { bearer: token })

/** A registered user with a live session. */
export const newUser = (tag = "u") =>
  Effect.gen(function*() {
    const credentials = newCredentials(tag)
    const session = yield* register(credentials)
    return { credentials, session }
  })
