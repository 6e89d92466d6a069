/**
 * Codecs for URL query-string values (`?limit=50&cursor=&unread_only=true`). Each decodes the
 * raw string into a typed value with a field-level message and encodes it back. An empty or
 * blank value (`?cursor=`) counts as absent, as HTML forms and most clients send it.
 */
import { Option, Schema, SchemaGetter, SchemaTransformation } from "effect"
import { Natural } from "./Numbers.ts"

const DIGITS = /^\d{1,15}$/

const present = (value: Option.Option<string>): Option.Option<string> => Option.filter(value, (s) => s.trim() !== "")

/** An optional query param: absent, empty or blank → the key is missing from the decoded value. */
export const optionalParam = <S extends Schema.Codec<unknown, string>>(schema: S) =>
  Schema.optionalKey(Schema.String).pipe(
    Schema.decodeTo(Schema.optionalKey(schema), {
      decode: SchemaGetter.transformOptional(present),
      encode: SchemaGetter.passthrough()
    })
  )

/** A query param with a default: absent, empty or blank → `defaultValue` (in its string form). */
export const paramWithDefault = <S extends Schema.Codec<unknown, string>>(schema: S, defaultValue: string) =>
  Schema.optionalKey(Schema.String).pipe(
    Schema.decodeTo(schema, {
      decode: SchemaGetter.transformOptional((value: Option.Option<string>) =>
        Option.orElseSome(present(value), () => defaultValue)
      ),
      encode: SchemaGetter.passthrough()
    })
  )

/** A non-negative integer from its decimal string. */
export const NaturalFromString = Schema.String.check(
  Schema.isPattern(DIGITS, { message: "must be a non-negative integer", expected: "a non-negative integer" })
).pipe(
  Schema.decodeTo(
    Natural,
    SchemaTransformation.transform({
      decode: (s: string) => Number(s),
      encode: (n: number) => String(n)
    })
  )
)

/**
 * A page size from its decimal string: larger than `max` → clamped to `max`; not an integer,
 * or < 1 → "must be a positive integer".
 */
export const LimitFromString = (max: number) => {
  const message = "must be a positive integer"
  return Schema.String.check(Schema.isPattern(DIGITS, { message, expected: "a positive integer" })).pipe(
    Schema.decodeTo(
      Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: max }, { message })),
      SchemaTransformation.transform({
        decode: (s: string) => Math.min(Number(s), max),
        encode: (n: number) => String(n)
      })
    )
  )
}

/** `limit`: absent, empty or blank → `default`; clamped to `max`. */
export const LimitParam = (options: { readonly default: number; readonly max: number }) =>
  paramWithDefault(LimitFromString(options.max), String(options.default))

/** `"true"` / `"false"` ⇄ boolean. */
export const BooleanFromString = Schema.Literals(["true", "false"]).annotate({ message: "must be true or false" }).pipe(
  Schema.decodeTo(
    Schema.Boolean,
    SchemaTransformation.transform({
      decode: (s: "true" | "false") => s === "true",
      encode: (b: boolean): "true" | "false" => (b ? "true" : "false")
    })
  )
)

/** A boolean flag: absent, empty or blank → `false`. */
export const FlagParam = paramWithDefault(BooleanFromString, "false")
