/**
 * What the person sees for every error code of the contract (API.md §1 and §6): one sentence
 * that says what happened and what to do. The server's own message is appended where it names
 * the field or the limit (validation errors), never for internal failures.
 */
import type { ErrorCode } from "@pylon/contracts/Envelope"
import type { WsErrorCode } from "@pylon/contracts/WsFrames"

const REST_TEXT: { readonly [K in ErrorCode]: string } = {
  bad_request: "That was not accepted",
  unauthorized: "You are not signed in, or your session has ended. Please sign in again.",
  forbidden: "You are not allowed to do that",
  not_found: "That no longer exists, or you are not a member",
  method_not_allowed: "This action is not supported by the server",
  already_exists: "That already exists",
  payload_too_large: "That is too large to send",
  unsupported_media_type: "The server did not understand the request format",
  rate_limited: "Too many attempts. Please wait a moment and try again.",
  internal_error: "Something went wrong on the server. Please try again.",
  service_unavailable: "The service is temporarily unavailable. Please try again shortly."
}

const WS_TEXT: { readonly [K in WsErrorCode]: string } = {
  BAD_REQUEST: "The message was not accepted",
  INVALID_JSON: "The client sent a malformed frame",
  UNKNOWN_TYPE: "The client sent an unknown frame",
  UNSUPPORTED_MESSAGE_TYPE: "The client sent an unsupported frame",
  NOT_JOINED: "Not connected to this room yet; retrying",
  FORBIDDEN: "You are not a member of this room",
  NOT_FOUND: "This room no longer exists",
  RATE_LIMITED: "You are sending too fast; retrying shortly",
  UNAVAILABLE: "The server is busy; retrying",
  INTERNAL: "Something went wrong on the server; retrying"
}

/** Codes whose server message names the field or limit and is worth showing as is. */
const DETAILED: ReadonlySet<string> = new Set(["bad_request", "already_exists", "forbidden", "BAD_REQUEST", "FORBIDDEN"])

const withDetail = (text: string, code: string, detail: string): string =>
  DETAILED.has(code) && detail.length > 0 && detail.length <= 200 ? `${text}: ${detail}` : text

export const restErrorText = (code: ErrorCode, detail: string): string => withDetail(REST_TEXT[code], code, detail)

export const wsErrorText = (code: WsErrorCode, detail: string): string => withDetail(WS_TEXT[code], code, detail)

/** WebSocket errors after which the same send is tried again (same `client_msg_id`). */
export const RETRYABLE_WS_ERRORS: ReadonlySet<WsErrorCode> = new Set(["NOT_JOINED", "RATE_LIMITED", "UNAVAILABLE", "INTERNAL"])
