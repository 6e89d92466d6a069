/**
 * The JSON log line carries the trace and span ids of the span it was written in (JsonLogger.ts),
 * as OTLP exports them, so a log line leads to its trace in Jaeger.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Ref, Schema } from "effect"
import { formatJsonWithTrace } from "../../src/observability/JsonLogger.ts"

const LogLine = Schema.Struct({
  message: Schema.String,
  level: Schema.String,
  annotations: Schema.Record(Schema.String, Schema.Unknown),
  trace_id: Schema.optional(Schema.String),
  span_id: Schema.optional(Schema.String)
})

const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines = yield* Ref.make<ReadonlyArray<string>>([])
    const capture = Logger.make((options) => {
      const line = formatJsonWithTrace.log(options)
      Effect.runSync(Ref.update(lines, (all) => [...all, line]))
    })
    const result = yield* effect.pipe(Effect.provide(Logger.layer([capture])))
    const decoded = yield* Effect.forEach(yield* Ref.get(lines), (line) =>
      Schema.decodeUnknownEffect(Schema.fromJsonString(LogLine))(line))
    return { result, lines: decoded }
  })

describe("JSON logs", () => {
  it.effect("a line written inside a span has that span's trace_id and span_id", () =>
    Effect.gen(function*() {
      const { result: span, lines } = yield* logged(
        Effect.logInfo("inside").pipe(
          Effect.annotateLogs({ request_id: "r-1" }),
          Effect.andThen(Effect.currentSpan),
          Effect.withSpan("handler")
        )
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ message: "inside", level: "INFO", annotations: { request_id: "r-1" } })
      expect(lines[0]?.trace_id).toBe(span.traceId.padStart(32, "0"))
      expect(lines[0]?.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(lines[0]?.span_id).toBe(span.spanId)
    }))

  it.effect("a line outside any span has no ids", () =>
    Effect.gen(function*() {
      const { lines } = yield* logged(Effect.logWarning("outside"))
      expect(lines[0]).toMatchObject({ message: "outside", level: "WARN" })
      expect(lines[0]?.trace_id).toBeUndefined()
      expect(lines[0]?.span_id).toBeUndefined()
    }))
})
