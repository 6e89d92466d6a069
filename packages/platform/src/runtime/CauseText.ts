/**
 * One line of text for a failure, for logs and stored reasons (outbox `last_error`, dead-letter
 * `dlq_reason`, fail-open warnings): the error and what it wraps (`reason`, `cause`), outermost
 * first — "EventPublishError: Kafka send failed ← KafkaJSError: …" — without a stack trace.
 */
import { Cause, Predicate } from "effect"

/** How many wrapped errors are followed at most. */
const MAX_DEPTH = 6

const textOf = (error: Error): string => {
  const op = Predicate.hasProperty(error, "op") && Predicate.isString(error.op) ? ` (${error.op})` : ""
  return error.message.length > 0 ? `${error.name}${op}: ${error.message}` : `${error.name}${op}`
}

/** "SqlError: … ← ConstraintError ← error: new row … violates check constraint …". */
export const describeError = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const text = textOf(current)
      if (!parts.includes(text)) parts.push(text)
    } else if (Predicate.isString(current)) {
      parts.push(current)
    }
    current = Predicate.hasProperty(current, "reason") && Predicate.isObject(current.reason)
      ? current.reason
      : Predicate.hasProperty(current, "cause")
      ? current.cause
      : undefined
  }
  return parts.length > 0 ? parts.join(" ← ") : String(error)
}

/** `describeError` of the cause's most important failure (a typed error, else a defect, else the interrupt). */
export const describeCause = (cause: Cause.Cause<unknown>): string => describeError(Cause.squash(cause))
