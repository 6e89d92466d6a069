/**
 * `clientAddress` decides whose budget a request spends, so a mistake either lets a client
 * choose its own key (trusting a forged header) or lumps everyone behind a proxy together.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Result } from "effect"
import {
  clientAddress,
  isTrustedAddress,
  normalizeAddress,
  parseCidr,
  parseTrustedProxies,
  type TrustedProxies,
  TrustedProxiesConfig
} from "../../src/http/ClientAddress.ts"

const trust = (text: string): TrustedProxies => Result.getOrThrow(parseTrustedProxies(text))

describe("normalizeAddress", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["  10.1.2.3 ", "10.1.2.3"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["0:0:0:0:0:ffff:192.168.0.1", "192.168.0.1"],
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0001:0000:0000:0000", "2001:db8:0:0:1::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::1.2.3.4", "::102:304"],
    ["1.2.3.4:5678", "1.2.3.4"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[::ffff:10.0.0.1]", "10.0.0.1"]
  ])("%s → %s", (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected)
  })

  it.each([
    "",
    "unknown",
    "256.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.-4",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1::2",
    "1:::2",
    "12345::1",
    "1.2.3.4::",
    "::1.2.3",
    "fe80::1%",
    "[1.2.3.4]",
    "[::1",
    "[::1]:port",
    "1.2.3.4:",
    "g::1"
  ])("rejects %j", (input) => {
    expect(normalizeAddress(input)).toBeUndefined()
  })
})

describe("parseCidr / parseTrustedProxies", () => {
  it("parses ranges and single hosts, clearing host bits", () => {
    expect(parseCidr("10.0.0.0/8")).toEqual({ family: 4, network: 0x0a000000n, prefix: 8 })
    expect(parseCidr("192.168.1.77/24")).toEqual({ family: 4, network: 0xc0a80100n, prefix: 24 })
    expect(parseCidr("10.0.0.5")).toEqual({ family: 4, network: 0x0a000005n, prefix: 32 })
    expect(parseCidr("::1")).toEqual({ family: 6, network: 1n, prefix: 128 })
    expect(parseCidr("fd00::/8")).toEqual({ family: 6, network: 0xfdn << 120n, prefix: 8 })
    expect(parseCidr("0.0.0.0/0")).toEqual({ family: 4, network: 0n, prefix: 0 })
    expect(parseCidr("::ffff:10.0.0.0/104")).toEqual({ family: 4, network: 0x0a000000n, prefix: 8 })
  })

  it.each(["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/a", "10.0.0.0/8/8", "bad/8", "/8"])(
    "rejects %j",
    (input) => {
      expect(parseCidr(input)).toBeUndefined()
    }
  )

  it("reads a comma-separated list, tolerating spaces and empty entries", () => {
    const parsed = parseTrustedProxies(" 10.0.0.0/8, ::1 ,,172.16.0.0/12 ")
    expect(Result.isSuccess(parsed) && parsed.success.length).toBe(3)
    expect(parseTrustedProxies("")).toEqual(Result.succeed([]))
  })

  it("names every invalid entry", () => {
    const parsed = parseTrustedProxies("10.0.0.0/8, nope, 1.2.3.4/40")
    expect(Result.isFailure(parsed) && parsed.failure).toBe(
      "not an IPv4/IPv6 address or CIDR: \"nope\", \"1.2.3.4/40\""
    )
  })

  it("matches IPv4 peers against IPv4 ranges, mapped or not, and against IPv6 ranges covering ::ffff:0:0/96", () => {
    const v4 = trust("10.0.0.0/8")
    expect(isTrustedAddress("10.9.8.7", v4)).toBe(true)
    expect(isTrustedAddress("::ffff:10.9.8.7", v4)).toBe(true)
    expect(isTrustedAddress("11.0.0.1", v4)).toBe(false)
    expect(isTrustedAddress("::a09:807", v4)).toBe(false)
    expect(isTrustedAddress("10.0.0.1", trust("::/0"))).toBe(true)
    expect(isTrustedAddress("10.0.0.1", trust("::ffff:0:0/96"))).toBe(true)
    expect(isTrustedAddress("10.0.0.1", trust("::ffff:0:0/95"))).toBe(true)
    expect(isTrustedAddress("2001:db8::1", trust("0.0.0.0/0"))).toBe(false)
    expect(isTrustedAddress("2001:db8::1", trust("2001:db8::/32"))).toBe(true)
    expect(isTrustedAddress("2001:db9::1", trust("2001:db8::/32"))).toBe(false)
    expect(isTrustedAddress("garbage", trust("::/0"))).toBe(false)
  })
})

describe("TrustedProxiesConfig", () => {
  it.effect("defaults to trusting nobody", () =>
    Effect.gen(function*() {
      expect(yield* TrustedProxiesConfig.parse(ConfigProvider.fromEnv({ env: {} }))).toEqual([])
    }))

  it.effect("reads TRUSTED_PROXIES", () =>
    Effect.gen(function*() {
      const trusted = yield* TrustedProxiesConfig.parse(
        ConfigProvider.fromEnv({ env: { TRUSTED_PROXIES: "10.0.0.0/8,::1" } })
      )
      expect(trusted).toHaveLength(2)
      expect(isTrustedAddress("::ffff:10.1.1.1", trusted)).toBe(true)
    }))

  it.effect("fails startup on an invalid entry", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        TrustedProxiesConfig.parse(ConfigProvider.fromEnv({ env: { TRUSTED_PROXIES: "10.0.0.0/8,nope" } }))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("nope")
    }))
})

describe("clientAddress", () => {
  const proxies = trust("10.0.0.0/8, ::1, fd00::/8")

  it("ignores X-Forwarded-For from an untrusted peer", () => {
    expect(clientAddress("203.0.113.9", "1.2.3.4", proxies)).toBe("203.0.113.9")
    expect(clientAddress("203.0.113.9", "1.2.3.4", [])).toBe("203.0.113.9")
  })

  it("ignores X-Forwarded-For entirely when no proxy is trusted (the default)", () => {
    expect(clientAddress("10.0.0.1", "1.2.3.4", [])).toBe("10.0.0.1")
  })

  it("normalises the peer, IPv4-mapped IPv6 included", () => {
    expect(clientAddress("::ffff:203.0.113.9", undefined, proxies)).toBe("203.0.113.9")
    expect(clientAddress("::ffff:10.0.0.2", undefined, proxies)).toBe("10.0.0.2")
  })

  it("uses the hop a trusted proxy reports", () => {
    expect(clientAddress("10.0.0.2", "198.51.100.7", proxies)).toBe("198.51.100.7")
    expect(clientAddress("::ffff:10.0.0.2", "198.51.100.7", proxies)).toBe("198.51.100.7")
    expect(clientAddress("::1", "2001:DB8::7", proxies)).toBe("2001:db8::7")
  })

  it("takes the right-most untrusted hop, so a client cannot forge its own address", () => {
    // The client sent "6.6.6.6" itself; the edge proxy appended the real address.
    expect(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7", proxies)).toBe("198.51.100.7")
    // Two trusted proxies in a row.
    expect(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", proxies)).toBe("198.51.100.7")
    expect(clientAddress("10.0.0.2", "6.6.6.6,198.51.100.7,::ffff:10.0.0.3, fd00::9", proxies)).toBe(
      "198.51.100.7"
    )
  })

  it("accepts hops with ports and brackets, and several header lines joined by commas", () => {
    expect(clientAddress("10.0.0.2", "198.51.100.7:51234", proxies)).toBe("198.51.100.7")
    expect(clientAddress("10.0.0.2", "[2001:db8::7]:443", proxies)).toBe("2001:db8::7")
    expect(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7 , ", proxies)).toBe("198.51.100.7")
  })

  it("falls back to the left-most hop when every hop is trusted", () => {
    expect(clientAddress("10.0.0.2", "10.0.0.7, 10.0.0.3", proxies)).toBe("10.0.0.7")
  })

  it("stops at the trusted hop that reported an unparsable address", () => {
    expect(clientAddress("10.0.0.2", "198.51.100.7, unknown", proxies)).toBe("10.0.0.2")
    expect(clientAddress("10.0.0.2", "unknown, 10.0.0.3", proxies)).toBe("10.0.0.3")
  })

  it("uses the peer when the header is empty", () => {
    expect(clientAddress("10.0.0.2", "", proxies)).toBe("10.0.0.2")
    expect(clientAddress("10.0.0.2", " , ", proxies)).toBe("10.0.0.2")
  })

  it("returns a non-IP peer (a Unix socket) unchanged", () => {
    expect(clientAddress("/run/pylon.sock", "1.2.3.4", proxies)).toBe("/run/pylon.sock")
  })
})
