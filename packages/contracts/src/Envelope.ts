/**
 * The JSON envelope of every HTTP answer (API.md §1): `{"success":true,"data":…}` or
 * `{"success":false,"error":{"code","message"}}`, plus the one table from error code to status.
 */
import { Schema } from "effect"

export const ErrorCode = Schema.Literals([
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "already_exists",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "internal_error",
  "service_unavailable"
])
export type ErrorCode = typeof ErrorCode.Type

const statusByCode: { readonly [K in ErrorCode]: number } = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503
}

/** The HTTP status that goes with an error code. */
export const statusOf = (code: ErrorCode): number => statusByCode[code]

export const ErrorBody = Schema.Struct({
  code: ErrorCode,
  message: Schema.String
})
export type ErrorBody = typeof ErrorBody.Type

export const ErrorEnvelope = Schema.Struct({
  success: Schema.Literal(false),
  error: ErrorBody
})
export type ErrorEnvelope = typeof ErrorEnvelope.Type

/** `{"success":true,"data":<schema>}` for a given payload schema. */
export const SuccessEnvelope = <S extends Schema.Top>(data: S) =>
  Schema.Struct({
    success: Schema.Literal(true),
    data
  })
