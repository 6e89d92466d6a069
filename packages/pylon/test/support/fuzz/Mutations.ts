/**
 * Malformed input for the fuzzer: nasty strings and values, and mutations of a valid JSON value
 * into the raw bytes a hostile or broken client might send — a field of the wrong type, dropped
 * or replaced by a huge/empty/unicode/NUL string, unknown and duplicate keys, deep nesting,
 * truncated or doubled JSON, a BOM, random bytes, invalid UTF-8. Query strings get the same
 * treatment (repeated keys, broken percent-escapes). Everything is a fast-check arbitrary, so a
 * campaign seed replays it.
 */
import fc from "fast-check"

/** What goes on the wire: text (sent as UTF-8) or raw bytes; `mutation` names how it was made. */
export interface Payload {
  readonly mutation: string
  readonly data: string | Uint8Array
}

const FIXED_NASTY: ReadonlyArray<string> = [
  "",
  " ",
  "   \t\n",
  "\u0000",
  "a\u0000b",
  "\u0000\u0000\u0000\u0000",
  "\u0001\u0002\u001b[31m\u007f",
  "null",
  "undefined",
  "true",
  "0",
  "-1",
  "NaN",
  "Infinity",
  "1e309",
  "9007199254740993",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  "\\",
  "\"",
  "%00",
  "%s%s%s%n",
  "${7*7}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "../../../../etc/passwd",
  "\ud800",
  "\udfff",
  "a\ud800b",
  "\uffff",
  "\ufeff",
  "\u202eevil",
  "😀",
  "👩‍👩‍👧‍👦",
  "e\u0301\u0301\u0301",
  "ＡＢＣ",
  "İstanbul",
  "ß",
  "\u2028\u2029",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
  "0190a6e0-0000-7000-8000-00000000000g",
  "0190a6e0-0000-7000-8000-0000000000000",
  "{0190a6e0-0000-7000-8000-000000000000}"
]

export interface NastyOptions {
  /** Longest generated string, in UTF-16 units (kept below the body/frame limits by callers). */
  readonly maxHuge: number
}

/** Strings that break naive code: empty, whitespace, NUL, control, surrogates, SQL, huge. */
export const nastyString = (options: NastyOptions): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...FIXED_NASTY) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom("x", "😀", "\u0000", "é", " ", "\ud800"), fc.integer({ min: 256, max: options.maxHuge }))
        .map(([unit, length]) => unit.repeat(Math.max(1, Math.floor(length / unit.length))))
    }
  )

/** A JSON value of the wrong kind for most fields. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1.5, 1e308, -1e308, 2 ** 53 + 2, [], {}, [null], { "": "" }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 3 })
)

/** Raw JSON number texts that `JSON.stringify` can't produce. */
const EDGE_NUMBER_TEXT: ReadonlyArray<string> = ["1e400", "-1e400", "-0", "1.0", "1E2", "0.0000001", "123456789012345678901234567890", "-9223372036854775809", "9223372036854775808"]

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const MARK = "\u0000FUZZ-RAW\u0000"

/** `value` with `key` replaced by raw JSON text `raw` (for texts `JSON.stringify` can't make). */
const withRawField = (value: Record<string, unknown>, key: string, raw: string): string =>
  JSON.stringify({ ...value, [key]: MARK }).replace(JSON.stringify(MARK), raw)

const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const deepObject = (depth: number) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

const keyOf = (value: Record<string, unknown>, pick: number): string => {
  const keys = Object.keys(value)
  return keys.length === 0 ? "type" : keys[pick % keys.length] ?? "type"
}

const utf8 = (text: string) => new TextEncoder().encode(text)

export interface MutationOptions extends NastyOptions {
  /** Deepest nesting generated. */
  readonly maxDepth: number
  /** Largest random-bytes payload. */
  readonly maxBytes: number
}

/**
 * Mutations of `valid` (a JSON value a client might legitimately send). About a fifth of the
 * cases are the valid value itself, so the happy paths are exercised too.
 */
export const mutateJson = (valid: fc.Arbitrary<unknown>, options: MutationOptions): fc.Arbitrary<Payload> =>
  valid.chain((value): fc.Arbitrary<Payload> => {
    const text = JSON.stringify(value)
    const record = isRecord(value) ? value : {}
    const field = fc.nat().map((pick) => keyOf(record, pick))
    const p = (mutation: string, data: string | Uint8Array): Payload => ({ mutation, data })
    return fc.oneof(
      { weight: 10, arbitrary: fc.constant(p("valid", text)) },
      {
        weight: 4,
        arbitrary: fc.tuple(field, wrongValue).map(([key, bad]) => p(`wrong-type:${key}`, JSON.stringify({ ...record, [key]: bad })))
      },
      {
        weight: 4,
        arbitrary: fc.tuple(field, nastyString(options)).map(([key, bad]) => p(`nasty-string:${key}`, JSON.stringify({ ...record, [key]: bad })))
      },
      {
        weight: 2,
        arbitrary: field.map((key) => {
          const { [key]: _dropped, ...rest } = record
          return p(`drop-field:${key}`, JSON.stringify(rest))
        })
      },
      {
        weight: 2,
        arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor", "prototype")), wrongValue, { maxKeys: 4 })
          .map((extra) => {
            const inner = JSON.stringify({ ...extra, ...record }).slice(1, -1)
            return p("extra-fields", `{"__proto__":{"admin":true}${inner.length > 0 ? `,${inner}` : ""}}`)
          })
      },
      {
        weight: 2,
        arbitrary: fc.tuple(field, wrongValue, fc.boolean()).map(([key, bad, badFirst]) => {
          const dup = `${JSON.stringify(key)}:${JSON.stringify(bad)}`
          const body = text.length > 2 ? text.slice(1, -1) : ""
          const inner = badFirst ? [dup, body] : [body, dup]
          return p(`duplicate-key:${key}`, `{${inner.filter((s) => s.length > 0).join(",")}}`)
        })
      },
      {
        weight: 2,
        arbitrary: fc.tuple(field, fc.integer({ min: 2, max: options.maxDepth }), fc.boolean()).map(([key, depth, arrays]) =>
          p(`deep-nesting:${key}:${depth}`, withRawField(record, key, arrays ? deepArray(depth) : deepObject(depth)))
        )
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.integer({ min: 2, max: options.maxDepth }), fc.boolean()).map(([depth, arrays]) =>
          p(`deep-nesting:root:${depth}`, arrays ? deepArray(depth) : deepObject(depth))
        )
      },
      {
        weight: 1,
        arbitrary: fc.tuple(field, fc.constantFrom(...EDGE_NUMBER_TEXT)).map(([key, raw]) => p(`edge-number:${key}`, withRawField(record, key, raw)))
      },
      {
        weight: 2,
        arbitrary: fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => p("truncated", text.slice(0, cut)))
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((other) => p("other-json-value", JSON.stringify(other) ?? "null")) },
      { weight: 1, arbitrary: fc.constant(p("two-values", `${text}${text}`)) },
      { weight: 1, arbitrary: fc.constant(p("bom", `\ufeff${text}`)) },
      { weight: 1, arbitrary: fc.constant(p("padded", ` \n\t${text}\r\n `)) },
      { weight: 1, arbitrary: fc.constant(p("empty", "")) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((garbage) => p("garbage-text", garbage)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: options.maxBytes }).map((bytes) => p("random-bytes", bytes)) },
      {
        weight: 1,
        arbitrary: fc.tuple(field, fc.constantFrom(0x80, 0xc0, 0xff, 0xed)).map(([key, byte]) => {
          const bytes = utf8(JSON.stringify({ ...record, [key]: MARK }))
          const mark = utf8(MARK)
          const at = indexOfBytes(bytes, mark)
          const out = new Uint8Array(bytes.length - mark.length + 1)
          out.set(bytes.subarray(0, at), 0)
          out[at] = byte
          out.set(bytes.subarray(at + mark.length), at + 1)
          return p(`invalid-utf8:${key}`, out)
        })
      }
    )
  })

const indexOfBytes = (haystack: Uint8Array, needle: Uint8Array): number => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return 0
}

/**
 * `encodeURIComponent` that also takes lone surrogates (which have no UTF-8 form): they go out as
 * the three bytes a careless encoder would produce (WTF-8), e.g. `%ED%A0%80`.
 */
export const percentEncode = (text: string): string => {
  let out = ""
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0
    out += code >= 0xd800 && code <= 0xdfff
      ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`).join("")
      : encodeURIComponent(char)
  }
  return out
}

/** `key=value&…` from a record of strings (keys and values percent-encoded). */
export const queryString = (params: Readonly<Record<string, string>>): string =>
  Object.entries(params).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&")

const RAW_QUERY_JUNK: ReadonlyArray<string> = [
  "%",
  "%ZZ",
  "%00",
  "%C0%80",
  "%ED%A0%80",
  "&&&",
  "=",
  "==",
  "limit",
  "limit[]=1",
  "limit[a]=1",
  "__proto__=1",
  "constructor[prototype][x]=1",
  "limit=1&limit=1000",
  "limit=%20",
  "limit=+1",
  "limit=0x10",
  "limit=1e2",
  "limit=-0",
  "limit=00000000000000000000001",
  "before_id=%00",
  "after_seq=99999999999999999999",
  "after_seq=9223372036854775808",
  "after_seq=-1",
  "cursor=%00",
  "cursor=..%2F..",
  "unread_only=TRUE",
  "q=%00"
]

/**
 * Query strings around a valid parameter record: the record itself, one value wrong (nasty
 * string, huge, NUL), keys repeated, raw junk appended, or the whole string replaced by junk.
 */
export const mutateQuery = (valid: fc.Arbitrary<Readonly<Record<string, string>>>, options: NastyOptions): fc.Arbitrary<Payload> =>
  valid.chain((params): fc.Arbitrary<Payload> => {
    const keys = Object.keys(params)
    const key = fc.oneof(fc.constantFrom(...(keys.length > 0 ? keys : ["limit"])), fc.constantFrom("limit", "before_id", "after_seq", "cursor", "unread_only", "q"))
    const p = (mutation: string, data: string): Payload => ({ mutation, data })
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant(p("valid", queryString(params))) },
      {
        weight: 4,
        arbitrary: fc.tuple(key, nastyString(options)).map(([k, bad]) => p(`nasty-value:${k}`, queryString({ ...params, [k]: bad })))
      },
      {
        weight: 2,
        arbitrary: fc.tuple(key, fc.oneof(fc.integer().map(String), fc.double().map(String), fc.bigInt().map(String))).map(([k, n]) =>
          p(`number:${k}`, queryString({ ...params, [k]: n }))
        )
      },
      {
        weight: 2,
        arbitrary: fc.tuple(key, fc.string({ maxLength: 10 })).map(([k, other]) =>
          p(`repeated-key:${k}`, `${queryString(params)}&${percentEncode(k)}=${percentEncode(other)}`)
        )
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(...RAW_QUERY_JUNK).map((junk) => p(`junk:${junk}`, [queryString(params), junk].filter((s) => s.length > 0).join("&")))
      },
      { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 60 }).map((raw) => p("raw-ascii", raw.replace(/[^!-~]/g, (c) => percentEncode(c)))) }
    )
  })
