/**
 * `currentLocalSpan` answers what `Effect.option(Effect.currentSpan)` answers — the innermost
 * span of this process, none outside a span, none under an external parent — without failing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import { currentLocalSpan } from "../../src/observability/CurrentSpan.ts"

const both = Effect.all({ local: currentLocalSpan, effect: Effect.option(Effect.currentSpan) })

describe("currentLocalSpan", () => {
  it.effect("outside any span: none, like Effect.currentSpan", () =>
    Effect.gen(function*() {
      const { effect, local } = yield* both
      expect(Option.isNone(local)).toBe(true)
      expect(Option.isNone(effect)).toBe(true)
    }))

  it.effect("inside nested spans: the innermost one, the same object as Effect.currentSpan's", () =>
    Effect.gen(function*() {
      const { effect, local } = yield* both.pipe(Effect.withSpan("inner"), Effect.withSpan("outer"))
      expect(Option.map(local, (span) => span.name)).toEqual(Option.some("inner"))
      expect(Option.getOrUndefined(local)).toBe(Option.getOrUndefined(effect))
    }))

  it.effect("under an external parent span only: none", () =>
    Effect.gen(function*() {
      const external = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" })
      const { effect, local } = yield* both.pipe(Effect.withParentSpan(external))
      expect(Option.isNone(local)).toBe(true)
      expect(Option.isNone(effect)).toBe(true)
    }))
})
