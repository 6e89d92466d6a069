/**
 * Per-user frames on this gateway node (API.md §5a: a connected user receives
 * `{"type":"notification","notification":…}`). The notification service publishes each new
 * notification on its recipient's user channel (`pylon:user:<id>`, `RealtimeBus`); this node
 * subscribes to the channels of the users it holds sockets for, refcounted: the first local
 * socket of a user opens one bus subscription, the last one to close ends it. Every frame on the
 * channel goes to all of that user's sockets here, verbatim, after checking it is a
 * `notification` frame. Delivery is at most once (a publish while Redis is away is lost; the
 * notification itself stays in the user's list), so `Gap` markers need no recovery.
 */
import { Context, Effect, Fiber, Latch, Layer, Metric, Schedule, Schema, Stream } from "effect"
import type { Scope } from "effect"
import type { UserId } from "@pylon/contracts/Ids"
import { NotificationFrame } from "@pylon/contracts/WsFrames"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"

/** Hands one encoded frame to a socket (its outbound queue); never blocks. */
export type DeliverFrame = (json: string) => void

interface UserEntry {
  readonly sockets: Set<{ readonly deliver: DeliverFrame }>
  readonly ready: Latch.Latch
  fiber: Fiber.Fiber<void> | undefined
}

const SUBSCRIBE_WAIT = "5 seconds"

const deliveredFrames = Metric.counter("pylon_ws_notifications_delivered_total", {
  description: "Notification frames handed to local sockets"
})

const decodeFrame = Schema.decodeUnknownOption(Schema.fromJsonString(NotificationFrame))

export class UserSockets extends Context.Service<UserSockets, {
  /**
   * Delivers the frames published for `userId` to `deliver` until the surrounding scope closes.
   * Returns once this node is subscribed to the user's channel (or after 5 s, the subscription
   * still being retried in the background).
   */
  readonly add: (userId: UserId, deliver: DeliverFrame) => Effect.Effect<void, never, Scope.Scope>
}>()("pylon/gateway/UserSockets") {
  static readonly layer = Layer.effect(
    UserSockets,
    Effect.gen(function*() {
      const bus = yield* RealtimeBus
      const scope = yield* Effect.scope
      const users = new Map<UserId, UserEntry>()

      const forward = (userId: UserId, entry: UserEntry, payload: string) =>
        Effect.gen(function*() {
          if (decodeFrame(payload)._tag === "None") {
            return yield* Effect.logWarning("ignoring malformed frame on a user channel").pipe(
              Effect.annotateLogs({ user_id: userId })
            )
          }
          for (const socket of entry.sockets) socket.deliver(payload)
          yield* Metric.update(deliveredFrames, entry.sockets.size)
        })

      /** One fiber per local user: subscribe (retrying while the bus is away), then forward. */
      const follow = (userId: UserId, entry: UserEntry) =>
        Effect.gen(function*() {
          const stream = yield* bus.subscribe(userChannel(userId)).pipe(
            Effect.tapError((error) => Effect.logWarning("user channel subscription failed; retrying", error)),
            Effect.retry(Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("10 seconds")]))
          )
          yield* entry.ready.open
          yield* Stream.runForEach(stream, (event) =>
            event._tag === "Message" ? forward(userId, entry, event.payload) : Effect.void)
        }).pipe(
          Effect.scoped,
          Effect.catchCause((cause) => Effect.logWarning("user channel subscription ended", cause))
        )

      const add = (userId: UserId, deliver: DeliverFrame) =>
        Effect.gen(function*() {
          const socket = { deliver }
          const entry = yield* Effect.acquireRelease(
            Effect.gen(function*() {
              const existing = users.get(userId)
              if (existing !== undefined) {
                existing.sockets.add(socket)
                return existing
              }
              const created: UserEntry = { sockets: new Set([socket]), ready: Latch.makeUnsafe(false), fiber: undefined }
              users.set(userId, created)
              created.fiber = yield* follow(userId, created).pipe(Effect.forkIn(scope))
              return created
            }),
            (entry) =>
              Effect.gen(function*() {
                entry.sockets.delete(socket)
                if (entry.sockets.size > 0 || users.get(userId) !== entry) return
                users.delete(userId)
                if (entry.fiber !== undefined) yield* Fiber.interrupt(entry.fiber)
              })
          )
          // Most sockets are not their user's first on this node: the subscription is up already.
          if (!Latch.isOpen(entry.ready)) yield* entry.ready.await.pipe(Effect.timeoutOption(SUBSCRIBE_WAIT), Effect.asVoid)
        })

      return UserSockets.of({ add })
    })
  )
}
