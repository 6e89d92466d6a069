/**
 * The live part of the Connect server streams (StreamMessages, StreamPresence): one stream is one
 * subscriber of this node's room fan-out (RoomFanout.ts), so it is fed by the same room bus as the
 * WebSocket path and sees events published by any gateway node. It keeps the WebSocket rules
 * (CONNECT-COMPAT.md rule 6):
 *
 * - it counts as a connection under the per-user and per-address caps (ConnectionLimits.ts):
 *   over a cap the stream is refused with `resource_exhausted`;
 * - membership is checked before anything is sent (unknown room → `not_found`, not a member →
 *   `permission_denied`), again on every leave of the user on any node (the bus `kick`, which
 *   ends the stream at once with `permission_denied`), and every `CONNECT_MEMBERSHIP_RECHECK_MS`
 *   anyway (StreamSettings.ts; the bus is at-most-once, so a lost kick is caught there);
 * - it ends with `unauthenticated` when its session is revoked (SessionRevocations.ts) or its
 *   access token expires;
 * - it ends cleanly (end of stream, no error) when the node drains (StreamDrain.ts);
 * - it is bounded: at most `WS_OUTBOUND_QUEUE` live items wait for a reader that does not keep up;
 *   one more ends the stream with `resource_exhausted` (its buffer is dropped; a StreamMessages
 *   client resumes with `after_seq`). Replays wait for the reader instead (`LiveSink.offer`).
 *
 * On a failure the items still buffered are dropped: a kicked or revoked reader gets nothing more.
 */
import { Deferred, Effect, Exit, Queue, Stream } from "effect"
import type { Scope } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import type { RoomId } from "@pylon/contracts/Ids"
import type { Membership } from "@pylon/contracts/RoomRpcs"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { SessionRevocations } from "../auth/SessionRevocations.ts"
import { RoomsClient } from "../clients/ServiceClients.ts"
import { failWithRpcError } from "../http/HttpErrors.ts"
import { requestClientAddress } from "../http/RateLimitGuard.ts"
import type { TrustedProxySettings } from "../http/RateLimitGuard.ts"
import { ConnectionLimits } from "../ws/ConnectionLimits.ts"
import { RoomFanout } from "../ws/RoomFanout.ts"
import type { LocalSubscriber } from "../ws/RoomFanout.ts"
import { WsSettings } from "../ws/WsSettings.ts"
import { StreamDrain } from "./StreamDrain.ts"
import { StreamSettings } from "./StreamSettings.ts"
import type { HttpServerRequest } from "effect/http"

/** Where a stream's items go. */
export interface LiveSink<A> {
  /** Queues a live item; with the buffer full the stream ends with `resource_exhausted`. */
  readonly push: (item: A) => void
  /** Queues an item, waiting while the buffer is full (a replay goes at the reader's pace). */
  readonly offer: (item: A) => Effect.Effect<void>
  /** Ends the stream with `failure` (what is still buffered is dropped). */
  readonly fail: (failure: HttpFailure) => void
}

/** What one stream does with the room's fan-out events, and the work it runs alongside (a replay). */
export interface LiveRoomListener<R> {
  readonly onMessage?: (seq: number, json: string) => void
  readonly onEvent?: (json: string) => void
  readonly run?: Effect.Effect<void, HttpFailure, R>
}

/** Services a live room stream uses. */
export type LiveRoomServices =
  | HttpServerRequest.HttpServerRequest
  | TrustedProxySettings
  | RoomsClient
  | RoomFanout
  | ConnectionLimits
  | SessionRevocations
  | StreamDrain
  | StreamSettings
  | WsSettings

export const slowReader = (limit: number) =>
  HttpFailure.of("rate_limited", `stream reader too slow: more than ${limit} items waiting`)

/**
 * The stream of `claims`' user in `roomId`: `open` is called once the caller is known to be a
 * member (with the membership, whose `last_seq` is the room's position then) and before the node
 * subscribes; its listener then receives the room's events until the stream ends.
 */
export const liveRoomStream = <A, R>(
  claims: AccessTokenClaims,
  roomId: RoomId,
  open: (sink: LiveSink<A>, membership: Membership) => Effect.Effect<LiveRoomListener<R>, HttpFailure, R | Scope.Scope>
): Stream.Stream<A, HttpFailure, R | LiveRoomServices> =>
  Stream.unwrap(Effect.map(WsSettings, (settings) =>
    Stream.callback<A, HttpFailure, R | LiveRoomServices>((queue) =>
      Effect.gen(function*() {
        const userId = claims.sub
        const ended = yield* Deferred.make<void, HttpFailure>()
        const fail = (failure: HttpFailure) => {
          Deferred.doneUnsafe(ended, Effect.fail(failure))
        }
        const forkUntilEnded = <E>(task: Effect.Effect<void, E, R | LiveRoomServices>, onFailure: (error: E) => HttpFailure) =>
          task.pipe(
            Effect.catch((error: E) => Effect.sync(() => fail(onFailure(error)))),
            Effect.forkScoped
          )

        const admission = yield* (yield* ConnectionLimits).admit(userId, yield* requestClientAddress)
        if (admission !== "admitted") {
          return yield* HttpFailure.of("rate_limited", `too many open connections (${admission.replaceAll("_", " ")})`)
        }
        yield* (yield* SessionRevocations).register(claims.sid, () => fail(HttpFailure.unauthorized("session revoked")))

        const rooms = yield* RoomsClient
        const checkMembership = rooms.CheckMembership({ user_id: userId, room_id: roomId }).pipe(failWithRpcError)
        const membership = yield* checkMembership
        if (membership.role === null) return yield* HttpFailure.forbidden("not a member of this room")

        const sink: LiveSink<A> = {
          push: (item) => {
            if (!Queue.offerUnsafe(queue, item)) fail(slowReader(settings.outboundQueue))
          },
          offer: (item) => Effect.asVoid(Queue.offer(queue, item)),
          fail
        }
        const listener = yield* open(sink, membership)

        const fanout = yield* RoomFanout
        const subscriber: LocalSubscriber = {
          connectionId: yield* newId,
          userId,
          onMessage: (_roomId, seq, json) => listener.onMessage?.(seq, json),
          onEvent: (_roomId, json) => listener.onEvent?.(json),
          onKicked: () => fail(HttpFailure.forbidden("no longer a member of this room"))
        }
        yield* Effect.acquireRelease(
          fanout.subscribe(subscriber, roomId, membership.last_seq),
          () => fanout.unsubscribe(subscriber.connectionId, roomId)
        )

        if (listener.run !== undefined) yield* forkUntilEnded(listener.run, (failure) => failure)
        // The access token's expiry ends the stream, as it closes a WebSocket.
        yield* forkUntilEnded(
          Effect.gen(function*() {
            const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
            yield* Effect.sleep(Math.max(0, claims.exp * 1000 - now))
            return yield* HttpFailure.unauthorized("token expired")
          }),
          (failure) => failure
        )
        // A kick lost on the bus: the membership is read again now and then (an outage keeps the stream).
        const { membershipRecheck } = yield* StreamSettings
        yield* forkUntilEnded(
          Effect.gen(function*() {
            while (true) {
              yield* Effect.sleep(membershipRecheck)
              const current = yield* checkMembership.pipe(
                Effect.catchIf((failure) => failure.code === "service_unavailable", () => Effect.succeed(membership))
              )
              if (current.role === null) return yield* HttpFailure.forbidden("no longer a member of this room")
            }
          }),
          (failure) => failure
        )
        const drain = yield* StreamDrain
        yield* Effect.forkScoped(Effect.andThen(drain.started, Deferred.succeed(ended, undefined)))

        const exit = yield* Effect.exit(Deferred.await(ended))
        if (Exit.isSuccess(exit)) return yield* Queue.end(queue)
        yield* Queue.clear(queue)
        return yield* Queue.failCause(queue, exit.cause)
      }), { bufferSize: settings.outboundQueue })
  ))
