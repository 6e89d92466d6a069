/**
 * The address a request really comes from, for per-address rate limits (API.md §7).
 * `X-Forwarded-For` is believed only as far as it was written by proxies we trust
 * (`TRUSTED_PROXIES`, a comma-separated list of IPv4/IPv6 CIDRs or bare addresses, default
 * none): walking it right to left from the socket peer, the first hop that is not a trusted
 * proxy is the client. Anything left of that hop was written by the client and is ignored, so a
 * client cannot pick its own rate-limit key by sending the header.
 *
 * Addresses are normalised before comparing and returning: IPv4-mapped IPv6 (`::ffff:1.2.3.4`,
 * as Node reports IPv4 peers on dual-stack sockets) becomes plain IPv4, and IPv6 is printed in
 * RFC 5952 form, so one client always yields one key. A small parser instead of a dependency:
 * the repository has no IP library and the grammar needed here is short.
 */
import { Config, Result, Schema } from "effect"

interface Address {
  readonly family: 4 | 6
  readonly value: bigint
}

export interface Cidr {
  readonly family: 4 | 6
  /** The network address, host bits cleared. */
  readonly network: bigint
  readonly prefix: number
}

export type TrustedProxies = ReadonlyArray<Cidr>

const BITS = { 4: 32, 6: 128 } as const
const MAPPED_PREFIX = 0xffffn << 32n

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/

const parseIPv4 = (text: string): bigint | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0n
  for (const part of parts) {
    // Leading zeros are refused: some stacks read them as octal, so their meaning is ambiguous.
    if (!DECIMAL_OCTET.test(part)) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    value = (value << 8n) | BigInt(octet)
  }
  return value
}

/** Hex groups of one side of `::`; a dotted IPv4 tail counts as two groups. */
const parseGroups = (text: string, allowIPv4Tail: boolean): Array<number> | undefined => {
  if (text === "") return []
  const parts = text.split(":")
  const groups: Array<number> = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? ""
    if (allowIPv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part)
      if (v4 === undefined) return undefined
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn))
    } else if (HEX_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16))
    } else {
      return undefined
    }
  }
  return groups
}

const parseIPv6 = (input: string): bigint | undefined => {
  // A zone (`fe80::1%eth0`) names the local interface, not the host; it does not change who sent it.
  const zone = input.indexOf("%")
  const text = zone === -1 ? input : input.slice(0, zone)
  if (zone !== -1 && zone === input.length - 1) return undefined
  const halves = text.split("::")
  let groups: Array<number>
  if (halves.length === 1) {
    const all = parseGroups(text, true)
    if (all === undefined || all.length !== 8) return undefined
    groups = all
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? "", false)
    const tail = parseGroups(halves[1] ?? "", true)
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined
    groups = [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    return undefined
  }
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n)
}

/** Parses a bare IPv4 or IPv6 address; IPv4-mapped IPv6 comes back as IPv4. */
const parseAddress = (text: string): Address | undefined => {
  if (text.includes(":")) {
    const value = parseIPv6(text)
    if (value === undefined) return undefined
    return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffffffffn } : { family: 6, value }
  }
  const value = parseIPv4(text)
  return value === undefined ? undefined : { family: 4, value }
}

/**
 * Parses one `X-Forwarded-For` hop or socket peer. Besides bare addresses, some proxies write
 * `1.2.3.4:5678` or `[2001:db8::1]:443`; the port is dropped.
 */
const parseHop = (raw: string): Address | undefined => {
  const text = raw.trim()
  if (text.startsWith("[")) {
    const close = text.indexOf("]")
    if (close === -1) return undefined
    const rest = text.slice(close + 1)
    if (rest !== "" && !/^:[0-9]{1,5}$/.test(rest)) return undefined
    const inner = text.slice(1, close)
    return inner.includes(":") ? parseAddress(inner) : undefined
  }
  const colon = text.indexOf(":")
  if (colon !== -1 && colon === text.lastIndexOf(":") && text.includes(".")) {
    if (!/^[0-9]{1,5}$/.test(text.slice(colon + 1))) return undefined
    return parseAddress(text.slice(0, colon))
  }
  return parseAddress(text)
}

const formatIPv4 = (value: bigint): string =>
  [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".")

/** RFC 5952: lower-case hex, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
const formatIPv6 = (value: bigint): string => {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn))
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":")
  return bestStart === -1 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

const formatAddress = (address: Address): string =>
  address.family === 4 ? formatIPv4(address.value) : formatIPv6(address.value)

/** The canonical text of an address (or `host:port` / `[v6]:port` hop), or `undefined` if it is not one. */
export const normalizeAddress = (text: string): string | undefined => {
  const address = parseHop(text)
  return address === undefined ? undefined : formatAddress(address)
}

const maskOf = (family: 4 | 6, prefix: number): bigint => {
  const bits = BITS[family]
  return ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix)
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a single host). Host bits are cleared. */
export const parseCidr = (text: string): Cidr | undefined => {
  const slash = text.indexOf("/")
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const address = parseAddress(addressText)
  if (address === undefined) return undefined
  if (slash === -1) return { family: address.family, network: address.value, prefix: BITS[address.family] }
  const digits = text.slice(slash + 1)
  if (!PREFIX_LENGTH.test(digits)) return undefined
  const prefix = Number(digits)
  // `::ffff:10.0.0.0/104` parses as IPv4: its prefix counts IPv6 bits, 96 of them before the IPv4 part.
  if (address.family === 4 && addressText.includes(":")) {
    if (prefix > 128) return undefined
    if (prefix >= 96) return { family: 4, network: address.value & maskOf(4, prefix - 96), prefix: prefix - 96 }
    return { family: 6, network: (MAPPED_PREFIX | address.value) & maskOf(6, prefix), prefix }
  }
  if (prefix > BITS[address.family]) return undefined
  return { family: address.family, network: address.value & maskOf(address.family, prefix), prefix }
}

const contains = (cidr: Cidr, address: Address): boolean => {
  if (cidr.family === address.family) return (address.value & maskOf(cidr.family, cidr.prefix)) === cidr.network
  // An IPv6 range such as `::/0` also covers IPv4 peers, which dual-stack sockets see as `::ffff:a.b.c.d`.
  if (cidr.family === 6) return ((MAPPED_PREFIX | address.value) & maskOf(6, cidr.prefix)) === cidr.network
  return false
}

const isTrusted = (trusted: TrustedProxies, address: Address): boolean =>
  trusted.some((cidr) => contains(cidr, address))

/** Parses the `TRUSTED_PROXIES` syntax; the failure names the entries that are not CIDRs. */
export const parseTrustedProxies = (text: string): Result.Result<TrustedProxies, string> => {
  const entries = text.split(",").map((entry) => entry.trim()).filter((entry) => entry.length > 0)
  const cidrs: Array<Cidr> = []
  const invalid: Array<string> = []
  for (const entry of entries) {
    const cidr = parseCidr(entry)
    if (cidr === undefined) invalid.push(entry)
    else cidrs.push(cidr)
  }
  return invalid.length === 0
    ? Result.succeed(cidrs)
    : Result.fail(`not an IPv4/IPv6 address or CIDR: ${invalid.map((entry) => JSON.stringify(entry)).join(", ")}`)
}

/** `TRUSTED_PROXIES`; an invalid entry fails startup instead of silently trusting less (or more). */
export const TrustedProxiesConfig: Config.Config<TrustedProxies> = Config.schema(
  Schema.String.check(
    Schema.makeFilter((text: string) => {
      const parsed = parseTrustedProxies(text)
      return Result.isSuccess(parsed) ? undefined : parsed.failure
    })
  ),
  "TRUSTED_PROXIES"
).pipe(
  Config.withDefault(""),
  Config.map((text) => Result.getOrElse(parseTrustedProxies(text), (): TrustedProxies => []))
)

/**
 * The client address of a request whose socket peer is `peer`.
 * `X-Forwarded-For` counts only when `peer` is a trusted proxy; then the right-most hop that is
 * not itself trusted is the client. If every hop is trusted the left-most one is (the request
 * started inside the proxy network); an unparsable hop stops the walk at the trusted hop that
 * reported it. A `peer` that is not an IP address (a Unix socket) is returned unchanged.
 */
export const clientAddress = (peer: string, xForwardedFor: string | undefined, trusted: TrustedProxies): string => {
  const peerAddress = parseHop(peer)
  if (peerAddress === undefined) return peer
  if (xForwardedFor === undefined || !isTrusted(trusted, peerAddress)) return formatAddress(peerAddress)
  const hops = xForwardedFor.split(",")
  let current = peerAddress
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = (hops[i] ?? "").trim()
    if (hop === "") continue
    const address = parseHop(hop)
    if (address === undefined) break
    current = address
    if (!isTrusted(trusted, address)) break
  }
  return formatAddress(current)
}

/** Whether `address` (any form `normalizeAddress` accepts) lies in one of the `trusted` ranges. */
export const isTrustedAddress = (address: string, trusted: TrustedProxies): boolean => {
  const parsed = parseHop(address)
  return parsed !== undefined && isTrusted(trusted, parsed)
}
