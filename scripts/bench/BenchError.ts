/**
 * The one failure type of the benchmark: a phase or a setup step that could not be completed
 * (a REST call refused, a socket that would not open, a stack that would not start).
 */
import { Schema } from "effect"

export class BenchError extends Schema.TaggedError<BenchError>()("BenchError", {
  step: Schema.String,
  message: Schema.String
}) {}
