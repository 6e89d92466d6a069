/**
 * The one mapping from domain error to what clients see: an HTTP error body (whose status is
 * `statusOf(code)`) and a WebSocket error code. Both are exhaustive `switch`es on `_tag`: adding
 * an error to `DomainError` without mapping it here is a compile error. Messages are fixed or
 * come from the error's own client-facing text, never from infrastructure.
 */
import type { ErrorBody } from "./Envelope.ts"
import type { DomainError } from "./Errors.ts"
import type { ClientMsgId } from "./Ids.ts"
import type { ErrorFrame, WsErrorCode } from "./WsFrames.ts"
import { errorFrame } from "./WsFrames.ts"

/** The client-facing text of a domain error. */
export const publicMessageOf = (error: DomainError): string => {
  switch (error._tag) {
    case "BadRequest":
    case "Unauthorized":
    case "Forbidden":
    case "AlreadyExists":
      return error.message
    case "InvalidCredentials":
      return "invalid credentials"
    case "RoomNotFound":
      return "room not found"
    case "NotRoomMember":
      return "not a member of this room"
    case "MessageNotFound":
      return "before_id: unknown message"
    case "NotificationNotFound":
      return "notification not found"
    case "RateLimited":
      return `rate limit exceeded, retry in ${error.retry_after_seconds} s`
    case "Unavailable":
      return "service temporarily unavailable"
  }
}

/** The HTTP error body; the status is `statusOf(body.code)`. */
export const httpErrorOf = (error: DomainError): ErrorBody => {
  const message = publicMessageOf(error)
  switch (error._tag) {
    case "BadRequest":
    case "MessageNotFound":
      return { code: "bad_request", message }
    case "InvalidCredentials":
    case "Unauthorized":
      return { code: "unauthorized", message }
    case "Forbidden":
    case "NotRoomMember":
      return { code: "forbidden", message }
    case "RoomNotFound":
    case "NotificationNotFound":
      return { code: "not_found", message }
    case "AlreadyExists":
      return { code: "already_exists", message }
    case "RateLimited":
      return { code: "rate_limited", message }
    case "Unavailable":
      return { code: "service_unavailable", message }
  }
}

/**
 * The WebSocket error code. Auth failures have no WS code of their own (an expired or revoked
 * token closes the socket with 1008), so they surface as `FORBIDDEN` if one ever reaches a frame.
 */
export const wsErrorCodeOf = (error: DomainError): WsErrorCode => {
  switch (error._tag) {
    case "BadRequest":
    case "MessageNotFound":
    case "AlreadyExists":
      return "BAD_REQUEST"
    case "InvalidCredentials":
    case "Unauthorized":
    case "Forbidden":
    case "NotRoomMember":
      return "FORBIDDEN"
    case "RoomNotFound":
    case "NotificationNotFound":
      return "NOT_FOUND"
    case "RateLimited":
      return "RATE_LIMITED"
    case "Unavailable":
      return "UNAVAILABLE"
  }
}

/** The `error` frame for a domain error, echoing `ref` when given. */
export const wsErrorFrameOf = (error: DomainError, ref?: ClientMsgId): ErrorFrame =>
  errorFrame(wsErrorCodeOf(error), publicMessageOf(error), ref)
