/**
 * The fuzzer's properties, checked on every answer:
 *   - HTTP: a response at all; never 5xx; a JSON body; an error is exactly the documented
 *     envelope `{"success":false,"error":{"code","message"}}` with the status its code maps to;
 *     a success decodes with the route's contract Schema; nothing internal in the body.
 *   - WebSocket: every frame decodes as a contract `ServerFrame`; no `INTERNAL` (or
 *     `UNAVAILABLE`: the embedded server has no remote dependency to lose) error frame; nothing
 *     internal in a message; a rejected upgrade is the HTTP envelope.
 * "Internal" means SQL text or driver errors, stack traces, file paths, error class names in an
 * error body or error frame — unless the request itself contained that text (an echoed input
 * field is not a leak).
 */
import { Result, Schema } from "effect"
import { ErrorEnvelope, statusOf, SuccessEnvelope } from "@pylon/contracts/Envelope"
import { ServerFrame } from "@pylon/contracts/WsFrames"

export interface Violation {
  /** Short stable name: "5xx", "bad-envelope", "leak:sql"… (part of the finding's signature). */
  readonly kind: string
  readonly detail: string
}

const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ["sql", /\b(?:SELECT\b[\s\S]{0,200}\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|RETURNING\s+\w)/i],
  [
    "db-error",
    /SqlError|PostgresError|PGlite|syntax error at or near|violates \S+ constraint|invalid input syntax for|out of range for type|invalid byte sequence|relation "|column "|duplicate key value|unterminated|\bSQLSTATE\b/i
  ],
  ["stack-trace", /\n\s+at\s|\bat\s+(?:async\s+)?[\w.$<>[\]]+\s+\([^)]*:\d+:\d+\)|\bat\s+file:\/\//],
  ["file-path", /(?:\/work\/|\/home\/|\/root\/|\/usr\/lib|\/tmp\/|node_modules|file:\/\/|\.ts:\d+|\.js:\d+|[A-Za-z]:\\)/],
  ["error-class", /\b(?:Error|TypeError|RangeError|ReferenceError|SyntaxError|URIError|EvalError|AggregateError|FiberFailure|UnknownException|RpcClientError|SchemaError):/],
  ["internal-name", /\b(?:kafkajs|ioredis|undici|Effect\.gen|_tag|Cause\.|ECONNREFUSED|ECONNRESET|EPIPE)\b/]
]

/** Every string a request carried (raw and decoded), to tell an echo from a leak. */
export const requestStrings = (texts: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out: Array<string> = []
  const visit = (value: unknown): void => {
    if (typeof value === "string") out.push(value)
    else if (Array.isArray(value)) value.slice(0, 1000).forEach(visit)
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value).slice(0, 1000)) {
        out.push(k)
        visit(v)
      }
    }
  }
  for (const text of texts) {
    out.push(text)
    try {
      out.push(decodeURIComponent(text))
    } catch {
      // not percent-encoded text
    }
    try {
      visit(JSON.parse(text))
    } catch {
      // not JSON
    }
  }
  return out
}

/** Leaks found in `text` that the request did not carry itself. */
export const leaksIn = (text: string, echoed: ReadonlyArray<string>): ReadonlyArray<Violation> => {
  const found: Array<Violation> = []
  for (const [name, pattern] of LEAKS) {
    const match = pattern.exec(text)
    if (match === null) continue
    if (echoed.some((s) => s.includes(match[0]))) continue
    found.push({ kind: `leak:${name}`, detail: `response contains ${JSON.stringify(match[0])}` })
  }
  return found
}

const decodeError = Schema.decodeUnknownResult(ErrorEnvelope)
const successDecoders = new WeakMap<Schema.Top, (u: unknown) => Result.Result<unknown, Schema.SchemaError>>()

const decodeSuccess = (data: Schema.Top, body: unknown): Result.Result<unknown, Schema.SchemaError> => {
  let decode = successDecoders.get(data)
  if (decode === undefined) {
    const envelope = SuccessEnvelope(data) as unknown as Schema.Codec<unknown, unknown>
    decode = Schema.decodeUnknownResult(envelope)
    successDecoders.set(data, decode)
  }
  return decode(body)
}

export interface HttpObservation {
  /** 0 when there was no response (connection refused/reset, timeout). */
  readonly status: number
  readonly contentType: string | undefined
  readonly body: string
  /** Why there was no response. */
  readonly error?: string
}

const excerpt = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text)

const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch {
    return Result.fail("not JSON")
  }
}

/** The documented error envelope with the status its code maps to, or why not. */
export const checkErrorEnvelope = (status: number, body: string): ReadonlyArray<Violation> => {
  const json = parseJson(body)
  if (Result.isFailure(json)) return [{ kind: "not-json", detail: `status ${status}, body ${excerpt(JSON.stringify(body))}` }]
  const envelope = decodeError(json.success)
  if (Result.isFailure(envelope)) return [{ kind: "bad-envelope", detail: `status ${status}, body ${excerpt(body)}` }]
  const expected = statusOf(envelope.success.error.code)
  return expected === status ? [] : [{ kind: "status-code-mismatch", detail: `status ${status} with code ${envelope.success.error.code} (maps to ${expected})` }]
}

/**
 * Violations of one HTTP answer. `success` is the route's data Schema (undefined for unknown
 * routes); `echoed` the request's own strings; `head` for HEAD requests (no body to check).
 */
export const checkHttp = (
  observation: HttpObservation,
  options: { readonly success: Schema.Top | undefined; readonly echoed: ReadonlyArray<string>; readonly head: boolean }
): ReadonlyArray<Violation> => {
  const { status, body } = observation
  if (status === 0) return [{ kind: "no-response", detail: observation.error ?? "no response" }]
  const violations: Array<Violation> = []
  if (status >= 500) violations.push({ kind: `http-${status}`, detail: `body ${excerpt(body)}` })
  const ok = status >= 200 && status < 300
  // Success bodies carry data stored by earlier cases (room names…); they are Schema-checked instead.
  if (!ok) violations.push(...leaksIn(body, options.echoed))
  if (options.head) return violations
  if (ok) {
    const json = parseJson(body)
    if (Result.isFailure(json)) violations.push({ kind: "not-json", detail: `status ${status}, body ${excerpt(JSON.stringify(body))}` })
    else if (options.success !== undefined && Result.isFailure(decodeSuccess(options.success, json.success))) {
      violations.push({ kind: "bad-success-body", detail: `status ${status}, body ${excerpt(body)}` })
    }
  } else {
    violations.push(...checkErrorEnvelope(status, body))
  }
  return violations
}

const decodeServerFrame = Schema.decodeUnknownResult(Schema.fromJsonString(ServerFrame))

/** Violations of one server → client text frame; the decoded frame when it is one. */
export const checkServerFrame = (
  text: string,
  echoed: ReadonlyArray<string>
): { readonly frame: ServerFrame | undefined; readonly violations: ReadonlyArray<Violation> } => {
  const decoded = decodeServerFrame(text)
  if (Result.isFailure(decoded)) return { frame: undefined, violations: [{ kind: "bad-server-frame", detail: excerpt(text) }] }
  const frame = decoded.success
  const violations: Array<Violation> = []
  if (frame.type === "error") {
    if (frame.code === "INTERNAL" || frame.code === "UNAVAILABLE") {
      violations.push({ kind: `ws-${frame.code}`, detail: excerpt(text) })
    }
    violations.push(...leaksIn(frame.message, echoed))
  }
  return { frame, violations }
}
