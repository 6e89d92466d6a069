/**
 * The REST edge (API.md §1): every answer is decoded with the shared contract schemas, and every
 * failure becomes an `ApiError` carrying the contract's error code and the text to show.
 */
import { Result, Schema } from "effect"
import { ErrorEnvelope, SuccessEnvelope } from "@pylon/contracts/Envelope"
import type { ErrorCode } from "@pylon/contracts/Envelope"
import { restErrorText } from "./ErrorText.ts"

export class ApiError extends Error {
  readonly code: ErrorCode | "network" | "invalid_response"
  readonly status: number
  constructor(code: ErrorCode | "network" | "invalid_response", status: number, message: string) {
    super(message)
    this.code = code
    this.status = status
  }
}

const decodeError = Schema.decodeUnknownResult(ErrorEnvelope)
/** The envelope first; its `data` is then decoded with the caller's schema. */
const decodeSuccess = Schema.decodeUnknownResult(SuccessEnvelope(Schema.Unknown))

export interface RequestOptions {
  readonly method?: "GET" | "POST"
  readonly body?: unknown
  readonly token?: string | undefined
}

/** One request to the gateway this page came from; resolves with the decoded `data`. */
export const request = async <S extends Schema.Top & { readonly DecodingServices: never }>(
  path: string,
  schema: S,
  options: RequestOptions = {}
): Promise<S["Type"]> => {
  const headers: Record<string, string> = { accept: "application/json" }
  if (options.body !== undefined) headers["content-type"] = "application/json"
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  let response: Response
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
    })
  } catch {
    throw new ApiError("network", 0, "Cannot reach the server. Check your connection and try again.")
  }
  const json: unknown = await response.json().catch(() => undefined)
  if (!response.ok) {
    const failure = decodeError(json)
    if (Result.isSuccess(failure)) {
      const { code, message } = failure.success.error
      throw new ApiError(code, response.status, restErrorText(code, message))
    }
    throw new ApiError("invalid_response", response.status, `The server answered ${response.status}. Please try again.`)
  }
  const envelope = decodeSuccess(json)
  if (Result.isSuccess(envelope)) {
    const decoded = Schema.decodeUnknownResult(schema)(envelope.success.data)
    if (Result.isSuccess(decoded)) return decoded.success
  }
  throw new ApiError("invalid_response", response.status, "The server sent an answer this page does not understand.")
}
