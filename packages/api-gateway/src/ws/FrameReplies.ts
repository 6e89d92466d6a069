/**
 * Replies to one client frame. Each waits for the frame's turn in the pipeline, so replies leave
 * in frame order (ADR 0004); a failed internal call becomes the documented error frame — the
 * domain error's own code, or `UNAVAILABLE` for a transport failure or a missed deadline.
 */
import { Effect } from "effect"
import { wsErrorFrameOf } from "@pylon/contracts/ErrorMapping"
import type { DomainError } from "@pylon/contracts/Errors"
import type { ClientMsgId } from "@pylon/contracts/Ids"
import type { ServerFrame, WsErrorCode } from "@pylon/contracts/WsFrames"
import { errorFrame } from "@pylon/contracts/WsFrames"
import type { FrameStep } from "./FramePipeline.ts"

/**
 * Errors a frame handler can meet: typed domain errors from the services, an RPC transport
 * failure, or a call that outlived its deadline.
 */
export type HandlerError = DomainError | { readonly _tag: "RpcClientError" } | { readonly _tag: "TimeoutError" }

const isDomainError = (error: HandlerError): error is DomainError =>
  error._tag !== "RpcClientError" && error._tag !== "TimeoutError"

const failureFrame = (error: HandlerError, ref?: ClientMsgId): ServerFrame =>
  isDomainError(error) ? wsErrorFrameOf(error, ref) : errorFrame("UNAVAILABLE", "service temporarily unavailable", ref)

export interface FrameReplies {
  readonly send: (frame: ServerFrame) => Effect.Effect<void>
  readonly error: (code: WsErrorCode, message: string, ref?: ClientMsgId) => Effect.Effect<void>
  readonly failure: (error: HandlerError, ref?: ClientMsgId) => Effect.Effect<void>
}

/** The replies of the frame at `step`, written with `sendFrame`. */
export const repliesOf = (sendFrame: (frame: ServerFrame) => void) => (step: FrameStep): FrameReplies => {
  const send = (frame: ServerFrame) => Effect.andThen(step.turn, Effect.sync(() => sendFrame(frame)))
  return {
    send,
    error: (code, message, ref) => send(errorFrame(code, message, ref)),
    failure: (error, ref) => send(failureFrame(error, ref))
  }
}
