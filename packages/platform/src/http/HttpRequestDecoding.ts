/**
 * Decoding of everything a client sends over HTTP: JSON bodies (`Content-Type: application/json`,
 * ≤ 1 MiB, exactly one JSON value), query strings and path ids. Every failure is an `HttpFailure`
 * (400 naming the field, 413, or 415), never a defect, so bad input can't produce a 500.
 */
import { ByteSize, Effect, Schema } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest } from "effect/http"
import { schemaErrorMessage } from "@pylon/contracts/SchemaErrorMessage"
import { HttpFailure } from "./HttpEnvelope.ts"

export const MAX_BODY_BYTES = 1024 * 1024

/** The 400 for a value that fails its schema, worded like every other transport's (WsFrames, Connect). */
const schemaFailure = (subject: string) => (error: Schema.SchemaError): HttpFailure =>
  HttpFailure.badRequest(schemaErrorMessage(error, subject))

const tooLarge = HttpFailure.of("payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`)

/** Reads the raw body, enforcing the size limit before and while reading (JSON and Connect bodies). */
export const readBodyBytes: Effect.Effect<ArrayBuffer, HttpFailure, HttpServerRequest.HttpServerRequest> = Effect.gen(
  function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return yield* tooLarge
    return yield* request.arrayBuffer.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(MAX_BODY_BYTES)),
      Effect.mapError((error) =>
        error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
          ? tooLarge
          : HttpFailure.badRequest("request body could not be read")
      )
    )
  }
)

/** Reads the raw body as text, enforcing the size limit before and while reading. */
export const readBodyText: Effect.Effect<string, HttpFailure, HttpServerRequest.HttpServerRequest> = Effect.map(
  readBodyBytes,
  (buffer) => new TextDecoder("utf-8", { fatal: false }).decode(buffer)
)

/** `application/json`, with or without parameters (`; charset=utf-8`), in any letter case. */
const isJsonMediaType = (contentType: string | undefined): boolean =>
  contentType !== undefined && contentType.split(";")[0]?.trim().toLowerCase() === "application/json"

const hasBody = (headers: Readonly<Record<string, string | undefined>>): boolean =>
  headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? "0") !== 0

/**
 * JSON bodies must say so: a form or `text/plain` post is refused before it is read, so a
 * cross-site HTML form (which cannot send `application/json` without a CORS preflight) gets nowhere.
 * A request without any body is left to the "body is required" 400.
 */
export const requireJsonContentType: Effect.Effect<void, HttpFailure, HttpServerRequest.HttpServerRequest> = Effect
  .flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    !hasBody(request.headers) || isJsonMediaType(request.headers["content-type"])
      ? Effect.void
      : Effect.fail(HttpFailure.of("unsupported_media_type", "request body must be application/json")))

const parseJson = (text: string): Effect.Effect<unknown, HttpFailure> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: () => HttpFailure.badRequest("request body must be a single valid JSON value")
  })

/** Decodes the JSON body with `schema`; unknown fields are ignored, invalid ones named in the 400. */
export const decodeJsonBody = <S extends Schema.Top>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return Effect.gen(function*() {
    yield* requireJsonContentType
    const text = yield* readBodyText
    const value = text.trim().length === 0
      ? yield* HttpFailure.badRequest("request body is required")
      : yield* parseJson(text)
    return yield* decode(value).pipe(Effect.mapError(schemaFailure("body")))
  })
}

/** Decodes the query string (first value of each key) with `schema`. */
export const decodeQuery = <S extends Schema.Top>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return Effect.gen(function*() {
    const params = yield* HttpServerRequest.ParsedSearchParams
    const flat: Record<string, string> = {}
    for (const [key, value] of Object.entries(params)) {
      const first = Array.isArray(value) ? value[0] : value
      if (first !== undefined) flat[key] = first
    }
    return yield* decode(flat).pipe(Effect.mapError(schemaFailure("query")))
  })
}

/** Decodes one path parameter (e.g. a room id) with `schema`: malformed → 400, never 500. */
export const decodePathParam = <S extends Schema.Top>(name: string, schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return Effect.gen(function*() {
    const params = yield* HttpRouter.params
    return yield* decode(params[name]).pipe(Effect.mapError(schemaFailure(name)))
  })
}
