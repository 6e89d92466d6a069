/**
 * Delivery of OTLP batches that says when it fails. Effect's OTLP exporter (effect/observability
 * OtlpExporter) retries a failed POST three times, then logs at debug level, drops the batch and
 * stops exporting for 60 s. `layerExportClient` is the `HttpClient` given to that exporter instead
 * of the real one: it accepts every batch at once into a bounded queue (so the exporter never
 * disables itself) and one fiber per signal posts the queue in order with the real client:
 *
 * - a failed post (connection refused, timeout, 5xx, 408, 429) is retried with the platform backoff
 *   (runtime/Backoff.ts) until it succeeds; the first failure of an outage is logged at warn, the
 *   recovery once more, nothing in between;
 * - a batch the receiver rejects (any other 4xx) is dropped (it would be rejected again);
 * - 404 means nothing receives this signal at that URL: one warning, and the signal stops;
 * - when the queue is full, newer batches are dropped; at shutdown what is still queued gets one
 *   attempt within `shutdownTimeout` (only when the receiver was answering).
 *
 * Every failed attempt counts in `pylon_telemetry_export_failures_total{signal}`, every batch given
 * up on in `pylon_telemetry_export_dropped_batches_total{signal}`.
 */
import { Cause, Duration, Effect, Fiber, Layer, Metric, Option, Queue, Ref } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import type { HttpClientError, HttpClientRequest } from "effect/http"
import type { BackoffSettings } from "../runtime/Backoff.ts"
import { makeBackoff } from "../runtime/Backoff.ts"

export const TELEMETRY_SIGNALS = ["traces", "metrics", "logs"] as const
export type TelemetrySignal = typeof TELEMETRY_SIGNALS[number]

export const exportFailures = Metric.counter("pylon_telemetry_export_failures_total", {
  description: "Failed OTLP export attempts (refused, timed out, or answered with an error status), by signal"
})
export const droppedBatches = Metric.counter("pylon_telemetry_export_dropped_batches_total", {
  description: "OTLP batches given up on (queue full, rejected by the receiver, unsent at shutdown), by signal"
})

/** Both counters at 0 for every signal, so dashboards and alerts see a series before the first failure. */
export const initialiseTelemetryExportMetrics = Effect.forEach(TELEMETRY_SIGNALS, (signal) =>
  Effect.all([
    Metric.update(Metric.withAttributes(exportFailures, { signal }), 0),
    Metric.update(Metric.withAttributes(droppedBatches, { signal }), 0)
  ]), { discard: true })

export interface ExportQueueSettings {
  /** Batches held while the receiver does not answer; newer ones are dropped beyond this. */
  readonly capacity: number
  readonly backoff: BackoffSettings
  /** Longest one POST may take before it counts as failed. */
  readonly requestTimeout: Duration.Input
  /** At shutdown, how long the queued batches may take to go out. */
  readonly shutdownTimeout: Duration.Input
}

export const DEFAULT_EXPORT_QUEUE: ExportQueueSettings = {
  capacity: 64,
  backoff: { initial: "1 second", max: "30 seconds" },
  requestTimeout: "10 seconds",
  shutdownTimeout: "3 seconds"
}

type Outcome =
  | { readonly _tag: "Delivered" }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Rejected"; readonly reason: string }
  | { readonly _tag: "NoReceiver" }

const outcomeOfStatus = (status: number): Outcome => {
  if (status >= 200 && status < 300) return { _tag: "Delivered" }
  if (status === 404) return { _tag: "NoReceiver" }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { _tag: "Rejected", reason: `HTTP ${status}` }
  }
  return { _tag: "Retry", reason: `HTTP ${status}` }
}

const describeCause = (cause: Cause.Cause<unknown>): string =>
  Cause.pretty(cause).split("\n")[0] ?? "unknown failure"

/**
 * An `HttpClient` for Effect's OTLP exporter of one signal, delivering through the `HttpClient` in
 * context as described above. The delivery fiber lives as long as the layer.
 */
export const layerExportClient = (
  signal: TelemetrySignal,
  settings: ExportQueueSettings = DEFAULT_EXPORT_QUEUE
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =>
  Layer.effect(HttpClient.HttpClient, Effect.gen(function*() {
    const upstream = yield* HttpClient.HttpClient
    const queue = yield* Queue.dropping<HttpClientRequest.HttpClientRequest>(settings.capacity)
    const backoff = yield* makeBackoff(settings.backoff)
    const failures = Metric.withAttributes(exportFailures, { signal })
    const dropped = Metric.withAttributes(droppedBatches, { signal })
    /** Failed attempts since the last delivery; `Some` while an outage lasts. */
    const outage = yield* Ref.make(Option.none<{ attempts: number; dropped: number }>())
    const stopped = yield* Ref.make(false)
    const inFlight = yield* Ref.make(Option.none<HttpClientRequest.HttpClientRequest>())

    const drop = (batches: number) =>
      batches === 0 ? Effect.void : Effect.all([
        Metric.update(dropped, batches),
        Ref.update(outage, Option.map((o) => ({ ...o, dropped: o.dropped + batches })))
      ], { discard: true })

    const timeoutText = Duration.format(Duration.fromInputUnsafe(settings.requestTimeout))
    const attempt = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<Outcome> =>
      upstream.execute(request).pipe(
        Effect.flatMap((response) => Effect.as(Effect.ignore(response.arrayBuffer), outcomeOfStatus(response.status))),
        Effect.timeoutOrElse({
          duration: settings.requestTimeout,
          orElse: () => Effect.succeed<Outcome>({ _tag: "Retry", reason: `no answer in ${timeoutText}` })
        }),
        Effect.scoped,
        Effect.catch((error) => Effect.succeed<Outcome>({ _tag: "Retry", reason: error.message })),
        Effect.catchDefect((defect) => Effect.succeed<Outcome>({ _tag: "Retry", reason: describeCause(Cause.die(defect)) })),
        Effect.provideService(HttpClient.TracerPropagationEnabled, false)
      )

    /** Records a failed attempt; the first one of an outage is logged. */
    const failed = (request: HttpClientRequest.HttpClientRequest, reason: string, next: string) =>
      Effect.gen(function*() {
        yield* Metric.update(failures, 1)
        const current = yield* Ref.get(outage)
        if (Option.isSome(current)) {
          yield* Ref.set(outage, Option.some({ ...current.value, attempts: current.value.attempts + 1 }))
          return
        }
        yield* Ref.set(outage, Option.some({ attempts: 1, dropped: 0 }))
        yield* Effect.logWarning(
          `OTLP ${signal} export to ${request.url} failed (${reason}); ${next}. ` +
            `Up to ${settings.capacity} batches are held; this is logged again when export recovers.`
        )
      })

    const recovered = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.gen(function*() {
        const current = yield* Ref.getAndSet(outage, Option.none())
        yield* backoff.reset
        if (Option.isNone(current)) return
        yield* Effect.logWarning(
          `OTLP ${signal} export to ${request.url} recovered after ${current.value.attempts} failed attempts ` +
            `(${current.value.dropped} batches dropped)`
        )
      })

    const stop = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.gen(function*() {
        yield* Metric.update(failures, 1)
        yield* Ref.set(stopped, true)
        yield* Queue.clear(queue)
        yield* Effect.logWarning(
          `No OTLP receiver for ${signal} at ${request.url} (HTTP 404): ${signal} export stopped. ` +
            `Give the collector a ${signal} pipeline, or set OTEL_${signal.toUpperCase()}_EXPORTER=none.`
        )
      })

    /** Posts one batch until it is delivered or given up on; false once the signal has stopped. */
    const deliver = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        while (true) {
          const outcome = yield* attempt(request)
          switch (outcome._tag) {
            case "Delivered":
              yield* recovered(request)
              return true
            case "NoReceiver":
              yield* stop(request)
              return false
            case "Rejected":
              yield* failed(request, outcome.reason, "the batch is dropped")
              yield* drop(1)
              return true
            case "Retry": {
              const delay = yield* backoff.next
              yield* failed(request, outcome.reason, "retrying with backoff")
              yield* Effect.sleep(delay)
            }
          }
        }
      })

    const worker = yield* Effect.gen(function*() {
      while (true) {
        const request = yield* Queue.take(queue)
        yield* Ref.set(inFlight, Option.some(request))
        const goOn = yield* deliver(request)
        yield* Ref.set(inFlight, Option.none())
        if (!goOn) return
      }
    }).pipe(Effect.withTracerEnabled(false), Effect.forkScoped)

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Fiber.interrupt(worker)
        if (yield* Ref.get(stopped)) return
        const pending = [...Option.toArray(yield* Ref.get(inFlight)), ...(yield* Queue.clear(queue))]
        if (Option.isSome(yield* Ref.get(outage))) return yield* drop(pending.length)
        const sent = yield* Ref.make(0)
        yield* Effect.forEach(pending, (request) =>
          attempt(request).pipe(
            Effect.flatMap((outcome) =>
              outcome._tag === "Delivered" ? Ref.update(sent, (n) => n + 1) : Effect.fail(outcome)
            )
          ), { discard: true }).pipe(
            Effect.timeoutOption(settings.shutdownTimeout),
            Effect.ignore,
            Effect.withTracerEnabled(false)
          )
        yield* drop(pending.length - (yield* Ref.get(sent)))
      }).pipe(Effect.ignore)
    )

    // Accept every batch at once: Effect's exporter must never see a failure (it would go quiet).
    return HttpClient.makeWith<HttpClientError.HttpClientError, never, HttpClientError.HttpClientError, never>((prepared) =>
      Effect.gen(function*() {
        const request = yield* prepared
        if (!(yield* Ref.get(stopped)) && !(yield* Queue.offer(queue, request))) yield* drop(1)
        return HttpClientResponse.fromWeb(request, new Response(null, { status: 202 }))
      }), Effect.succeed)
  }))
