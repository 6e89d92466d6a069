/**
 * What every part of one WebSocket session shares: who is connected, where frames go, and how
 * internal calls are made — each with the frame deadline (`WS_RPC_TIMEOUT_MS`; running out is
 * `UNAVAILABLE`), and room-bus publishes that give up after it with a warning.
 */
import { Duration, Effect } from "effect"
import type { Cause } from "effect"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import type { BusEnvelope } from "./BusEnvelope.ts"
import type { RoomFanout } from "./RoomFanout.ts"
import type { SessionOutput } from "./SessionOutput.ts"

export interface SessionContext {
  readonly connectionId: string
  readonly user: { readonly id: UserId; readonly username: string }
  readonly output: SessionOutput
  readonly withDeadline: <A, E, R>(call: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Cause.TimeoutError, R>
  readonly publish: (roomId: RoomId, envelope: BusEnvelope) => Effect.Effect<void>
}

export const makeSessionContext = (options: {
  readonly connectionId: string
  readonly user: SessionContext["user"]
  readonly output: SessionOutput
  readonly fanout: RoomFanout["Service"]
  readonly rpcTimeoutMs: number
}): SessionContext => {
  const deadline = Duration.millis(options.rpcTimeoutMs)
  return {
    connectionId: options.connectionId,
    user: options.user,
    output: options.output,
    withDeadline: (call) => Effect.timeout(call, deadline),
    publish: (roomId, envelope) =>
      options.fanout.publish(roomId, envelope).pipe(
        Effect.timeoutOrElse({ duration: deadline, orElse: () => Effect.logWarning("room bus publish timed out") })
      )
  }
}
