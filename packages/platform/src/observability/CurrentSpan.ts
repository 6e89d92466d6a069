/**
 * The current span, if any, without a failure when there is none. `Effect.currentSpan` fails with
 * `NoSuchElementError` then, and building that error captures a stack trace: on a path that runs
 * per request or per message with tracing off, that was ~6 % of a gateway's CPU (docs/perf.md §10).
 * Same answer: the context's parent span when it is a span of this process (not an external one).
 */
import { Effect, Option, Tracer } from "effect"

export const currentLocalSpan: Effect.Effect<Option.Option<Tracer.Span>> = Effect.map(
  Effect.serviceOption(Tracer.ParentSpan),
  Option.filter((span): span is Tracer.Span => span._tag === "Span")
)
