/**
 * The metrics of the original system, by its names and label sets, so its dashboards and alerts
 * carry over (docs/adr/0007-metric-names.md). Each is updated where the thing happens:
 *
 * | metric                                   | labels                          | updated by                      |
 * |------------------------------------------|---------------------------------|---------------------------------|
 * | pylon_http_requests_total                | method, path, status_code       | EnvelopeMiddleware (all procs)  |
 * | pylon_http_request_duration_seconds      | method, path                    | EnvelopeMiddleware              |
 * | pylon_http_requests_in_flight            | -                               | EnvelopeMiddleware              |
 * | pylon_grpc_requests_total                | service, method, status_code    | InternalRpc server, gateway Connect |
 * | pylon_grpc_request_duration_seconds      | service, method                 | InternalRpc server, gateway Connect |
 * | pylon_kafka_messages_published_total     | topic                           | KafkaEventPublisher (outbox)    |
 * | pylon_kafka_publish_duration_seconds     | topic                           | KafkaEventPublisher             |
 * | pylon_kafka_messages_consumed_total      | topic, consumer_group           | NotificationConsumer            |
 * | pylon_websocket_connections_active       | room_type ("all")               | gateway WsSession               |
 * | pylon_messages_sent_total                | room_type, message_type         | chat service, per stored message|
 * | pylon_rooms_created_total                | room_type                       | room service                    |
 * | pylon_users_online                       | -                               | presence service                |
 *
 * `path` is the route template (`/api/v1/rooms/:roomId`), never the raw URL, and `unmatched` for
 * unknown routes; `status_code` is the HTTP status as a string. For RPCs it is the HTTP status the
 * failure maps to (`statusCodeOf`), as the original's Connect middleware recorded.
 */
import { Cause, Effect, Exit, Metric, Option } from "effect"

/** The Prometheus client's default buckets (seconds), which the original's histograms use. */
export const DEFAULT_BUCKETS: ReadonlyArray<number> = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export const httpRequestsTotal = Metric.counter("pylon_http_requests_total", {
  description: "HTTP requests served, by method, route template (path) and status_code"
})
export const httpRequestDuration = Metric.histogram("pylon_http_request_duration_seconds", {
  description: "HTTP request duration in seconds, by method and route template (path)",
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 14 })
})
export const httpRequestsInFlight = Metric.gauge("pylon_http_requests_in_flight", {
  description: "HTTP requests currently being served"
})

export const grpcRequestsTotal = Metric.counter("pylon_grpc_requests_total", {
  description: "Internal RPC (services) and Connect (gateway) calls, by service, method and status_code"
})
export const grpcRequestDuration = Metric.histogram("pylon_grpc_request_duration_seconds", {
  description: "Internal RPC and Connect call duration in seconds, by service and method",
  boundaries: DEFAULT_BUCKETS
})

export const kafkaMessagesPublished = Metric.counter("pylon_kafka_messages_published_total", {
  description: "Records the broker acknowledged, by topic"
})
export const kafkaPublishDuration = Metric.histogram("pylon_kafka_publish_duration_seconds", {
  description: "Duration of one publish (a batch, until the broker acknowledged it) in seconds, by topic",
  boundaries: DEFAULT_BUCKETS
})

export const websocketConnectionsActive = Metric.gauge("pylon_websocket_connections_active", {
  description: "Open WebSocket connections, by room_type (always \"all\": a socket joins many rooms)"
})
/** The only `room_type` of `pylon_websocket_connections_active`, as in the original. */
export const ALL_ROOM_TYPES = "all"

export const messagesSent = Metric.counter("pylon_messages_sent_total", {
  description: "Messages stored, by room_type (direct, group, channel) and message_type"
})
export const roomsCreated = Metric.counter("pylon_rooms_created_total", {
  description: "Rooms created, by room_type (direct, group, channel)"
})
export const usersOnline = Metric.gauge("pylon_users_online", {
  description: "Users with at least one live connection (the presence store's count)"
})

const STATUS_OF_ERROR: Readonly<Record<string, number>> = {
  BadRequest: 400,
  InvalidCredentials: 401,
  Unauthorized: 401,
  Forbidden: 403,
  NotRoomMember: 403,
  RoomNotFound: 404,
  MessageNotFound: 404,
  NotificationNotFound: 404,
  AlreadyExists: 409,
  RateLimited: 429,
  Unavailable: 503
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" ? error._tag : undefined

/** The HTTP status an RPC outcome answers with: 200, the typed error's status, 499 if interrupted, else 500. */
export const statusCodeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "200"
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) return String(STATUS_OF_ERROR[tagOf(error.value) ?? ""] ?? 500)
  return Cause.hasInterruptsOnly(exit.cause) ? "499" : "500"
}

/** Counts and times one RPC (`service`/`method`) around `effect`, whatever its outcome. */
export const measureRpc = (service: string, method: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const started = performance.now()
    return Effect.onExit(effect, (exit) =>
      Effect.andThen(
        Metric.update(
          Metric.withAttributes(grpcRequestsTotal, { service, method, status_code: statusCodeOf(exit) }),
          1
        ),
        Metric.update(Metric.withAttributes(grpcRequestDuration, { service, method }), (performance.now() - started) / 1000)
      ))
  })
