/**
 * The cross-origin policy from `CORS_ORIGINS` as the `/ws` Origin check applies it.
 */
import { describe, expect, it } from "@effect/vitest"
import { corsPolicy, isUpgradeOriginAllowed } from "../../src/http/Cors.ts"

describe("isUpgradeOriginAllowed", () => {
  it("allows no Origin, the gateway's own origin and listed origins; refuses the rest", () => {
    const none = corsPolicy([])
    const listed = corsPolicy(["https://app.example"])
    const host = "chat.example:8080"
    expect(isUpgradeOriginAllowed(none, undefined, host)).toBe(true)
    expect(isUpgradeOriginAllowed(none, "http://chat.example:8080", host)).toBe(true)
    expect(isUpgradeOriginAllowed(none, "http://CHAT.example:8080", "Chat.Example:8080")).toBe(true)
    expect(isUpgradeOriginAllowed(none, "https://app.example", host)).toBe(false)
    expect(isUpgradeOriginAllowed(listed, "https://app.example", host)).toBe(true)
    expect(isUpgradeOriginAllowed(listed, "https://app.example.evil.example", host)).toBe(false)
    expect(isUpgradeOriginAllowed(listed, "null", host)).toBe(false)
    expect(isUpgradeOriginAllowed(corsPolicy(["*"]), "https://anything.example", host)).toBe(true)
  })
})
