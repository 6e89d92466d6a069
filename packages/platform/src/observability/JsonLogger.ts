/**
 * One JSON object per log line (Effect's structured format: message, level, timestamp, cause,
 * annotations, spans, fiberId) plus `trace_id` and `span_id` of the span the log was written in,
 * so a log line leads to its trace (ids as OTLP exports them: a 32-hex-digit trace id).
 */
import { Formatter, Logger } from "effect"
import { processStdoutLines } from "./TurnBatchedLines.ts"

export const formatJsonWithTrace: Logger.Logger<unknown, string> = Logger.make((options) => {
  const entry = Logger.formatStructured.log(options)
  const span = options.fiber.cache.span
  return Formatter.formatJson(
    span === undefined ? entry : { ...entry, trace_id: span.traceId.padStart(32, "0"), span_id: span.spanId }
  )
})

/** The JSON lines on stdout, written once per event-loop turn (TurnBatchedLines.ts). */
export const consoleJsonWithTrace: Logger.Logger<unknown, void> = Logger.make((options) => {
  processStdoutLines().push(formatJsonWithTrace.log(options))
})
