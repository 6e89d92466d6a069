/**
 * The shared failure-to-text helper (platform/CauseText.ts): outermost error first, wrapped
 * errors followed through `cause` / `reason`, repeated texts once, the RPC-style `op` kept.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause } from "effect"
import { describeCause, describeError } from "../../src/runtime/CauseText.ts"
import { EventPublishError } from "../../src/events/EventPublisher.ts"
import { RedisError } from "../../src/redis/Redis.ts"

describe("CauseText", () => {
  it("names the error and what it wraps, outermost first", () => {
    const wrapped = new EventPublishError({ message: "Kafka send failed", cause: new TypeError("socket closed") })
    expect(describeError(wrapped)).toBe("EventPublishError: Kafka send failed ← TypeError: socket closed")
    expect(describeCause(Cause.fail(wrapped))).toBe(describeError(wrapped))
  })

  it("keeps the operation of an error that carries one", () => {
    expect(describeError(new RedisError({ op: "rateLimit.evalsha", cause: new Error("connect ECONNREFUSED") })))
      .toBe("RedisError (rateLimit.evalsha) ← Error: connect ECONNREFUSED")
  })

  it("describes defects, strings and other values", () => {
    expect(describeCause(Cause.die(new RangeError("boom")))).toBe("RangeError: boom")
    expect(describeError("plain text")).toBe("plain text")
    expect(describeError(42)).toBe("42")
  })

  it("stops following a cycle of causes", () => {
    const a = new Error("a")
    const b = new Error("b", { cause: a })
    Object.assign(a, { cause: b })
    expect(describeError(a)).toBe("Error: a ← Error: b")
  })
})
