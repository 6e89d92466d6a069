/**
 * The JSON envelope of every HTTP answer (API.md §1) and the one error type handlers fail with.
 * Handlers fail with `HttpFailure`; the global `EnvelopeMiddleware` renders it, so no
 * handler builds an error body by hand and nothing else (SQL text, stack traces) can leak.
 */
import { Data, Effect, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { statusOf } from "@pylon/contracts/Envelope"
import type { ErrorCode } from "@pylon/contracts/Envelope"

export class HttpFailure extends Data.TaggedError("HttpFailure")<{
  readonly code: ErrorCode
  readonly message: string
  readonly headers?: Record<string, string> | undefined
}> {
  static of(code: ErrorCode, message: string, headers?: Record<string, string>): HttpFailure {
    return new HttpFailure({ code, message, headers })
  }
  static badRequest(message: string): HttpFailure {
    return HttpFailure.of("bad_request", message)
  }
  static unauthorized(message = "unauthorized"): HttpFailure {
    return HttpFailure.of("unauthorized", message)
  }
  static notFound(message = "not found"): HttpFailure {
    return HttpFailure.of("not_found", message)
  }
  static forbidden(message = "forbidden"): HttpFailure {
    return HttpFailure.of("forbidden", message)
  }
}

export const respondOk = (
  data: unknown,
  options?: { readonly status?: number; readonly headers?: Record<string, string> }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe({ success: true, data }, {
    status: options?.status ?? 200,
    ...(options?.headers ? { headers: options.headers } : {})
  })

/**
 * `respondOk` for data that is already JSON text (a history page PostgreSQL built, say): the
 * text goes into the envelope as it is, not parsed and serialised again. Only for text our own
 * services produced, never for outside input.
 */
export const respondOkJsonText = (json: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(`{"success":true,"data":${json}}`, { contentType: "application/json" })

/**
 * `respondOk` with `value` encoded by its contract `schema`, so a response has exactly the wire
 * shape the schema declares; a value that does not encode is a bug (a defect, rendered as 500).
 */
export const respondWith = <S extends Schema.Top & { readonly EncodingServices: never }>(
  schema: S,
  value: S["Type"],
  status = 200
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Schema.encodeEffect(schema)(value).pipe(
    Effect.orDie,
    Effect.map((data) => respondOk(data, { status }))
  )

export const respondError = (
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe({ success: false, error: { code, message } }, {
    status: statusOf(code),
    ...(headers ? { headers } : {})
  })

export const respondFailure = (failure: HttpFailure): HttpServerResponse.HttpServerResponse =>
  respondError(failure.code, failure.message, failure.headers)
