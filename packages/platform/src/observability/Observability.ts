/**
 * Trace (and log/metric) export over OTLP/HTTP JSON with Effect's built-in exporter, enabled
 * when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (e.g. http://otel-collector:4318). The service name
 * is `OTEL_SERVICE_NAME`, defaulting to the process's role. Prometheus `/metrics` is always on.
 */
import { Config, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"

export const ObservabilityLive = (defaultServiceName: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const endpoint = yield* Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT"))
    if (Option.isNone(endpoint) || endpoint.value.trim() === "") return Layer.empty
    const serviceName = yield* Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault(defaultServiceName))
    return Otlp.layerJson({ baseUrl: endpoint.value, resource: { serviceName } }).pipe(
      Layer.provide(FetchHttpClient.layer)
    )
  }))
