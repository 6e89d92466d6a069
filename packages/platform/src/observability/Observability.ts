/**
 * What every Pylon process does with its telemetry (README "Operations" → "Telemetry"):
 *
 * - logs: one JSON object per line on stdout with `trace_id`/`span_id` (JsonLogger.ts); `LOG_FORMAT=text`
 *   keeps Effect's plain format;
 * - OTLP/HTTP JSON export to `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. http://otel-collector:4318), per signal
 *   switched by `OTEL_TRACES_EXPORTER` (default `otlp`), `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER`
 *   (default `none`: Prometheus scrapes `/metrics` and logs go to stdout; infra/otel's collector has a
 *   traces pipeline only). Each signal is delivered by TelemetryExport.ts, which logs failures at warn,
 *   counts them and retries with backoff instead of Effect's silent 60 s pause.
 *
 * The service name is `OTEL_SERVICE_NAME`, defaulting to the process's role.
 */
import { Config, Effect, Layer, Logger, Option } from "effect"
import { FetchHttpClient, HttpClientRequest } from "effect/http"
import { OtlpExporter, OtlpLogger, OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"
import { consoleJsonWithTrace } from "./JsonLogger.ts"
import type { TelemetrySignal } from "./TelemetryExport.ts"
import { initialiseTelemetryExportMetrics, layerExportClient } from "./TelemetryExport.ts"

const exporterSwitch = (name: string, byDefault: "otlp" | "none") =>
  Config.Literals(["otlp", "none"], name).pipe(Config.withDefault(byDefault))

export const TelemetryConfig = Config.all({
  endpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")).pipe(
    Config.map(Option.filter((url) => url.trim() !== ""))
  ),
  serviceName: Config.option(Config.String("OTEL_SERVICE_NAME")),
  traces: exporterSwitch("OTEL_TRACES_EXPORTER", "otlp"),
  metrics: exporterSwitch("OTEL_METRICS_EXPORTER", "none"),
  logs: exporterSwitch("OTEL_LOGS_EXPORTER", "none"),
  logFormat: Config.Literals(["json", "text"], "LOG_FORMAT").pipe(Config.withDefault("json"))
})

/** `/v1/traces` etc. below the endpoint, as Effect's `Otlp.layer` builds them. */
const signalUrl = (endpoint: string, signal: TelemetrySignal): string =>
  HttpClientRequest.appendUrl(HttpClientRequest.get(endpoint), `/v1/${signal}`).url

export const ObservabilityLive = (defaultServiceName: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* TelemetryConfig
    yield* initialiseTelemetryExportMetrics
    const resource = { serviceName: Option.getOrElse(config.serviceName, () => defaultServiceName) }
    const endpoint = config.endpoint
    const enabled = (signal: TelemetrySignal): Option.Option<string> =>
      config[signal] === "otlp" ? Option.map(endpoint, (base) => signalUrl(base, signal)) : Option.none()
    const traces = Option.match(enabled("traces"), {
      onNone: () => Layer.empty,
      onSome: (url) => Layer.provide(OtlpTracer.layer({ url, resource }), layerExportClient("traces"))
    })
    const metrics = Option.match(enabled("metrics"), {
      onNone: () => Layer.empty,
      onSome: (url) => Layer.provide(OtlpMetrics.layer({ url, resource }), layerExportClient("metrics"))
    })
    // JSON replaces Effect's default console logger; text keeps it (and adds OTLP when enabled).
    const consoleLoggers = config.logFormat === "json" ? [consoleJsonWithTrace] : []
    const mergeWithExisting = config.logFormat === "text"
    const loggers = Option.match(enabled("logs"), {
      onNone: () => Logger.layer(consoleLoggers, { mergeWithExisting }),
      onSome: (url) =>
        Logger.layer([...consoleLoggers, OtlpLogger.make({ url, resource })], { mergeWithExisting }).pipe(
          Layer.provide(layerExportClient("logs"))
        )
    })
    return Layer.mergeAll(traces, metrics, loggers).pipe(
      Layer.provide([OtlpSerialization.layerJson, OtlpExporter.layerFlusher]),
      Layer.provide(FetchHttpClient.layer)
    )
  }))
