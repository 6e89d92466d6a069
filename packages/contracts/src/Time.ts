/**
 * Wire timestamps: RFC 3339 strings in UTC with milliseconds ("2026-06-23T00:00:00.000Z"),
 * decoded to `DateTime.Utc`. Repositories get JS `Date`s from the database and convert them
 * with `timestampFromDate` (or decode rows with `TimestampFromDate`).
 */
import { DateTime, Schema, SchemaTransformation } from "effect"

// Full date-time with an explicit offset; date-only or zone-less strings are not RFC 3339.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/

// Four-digit years only: outside them `toISOString` emits `+010000-…`, which is not RFC 3339.
// And from year 1: PostgreSQL has no year 0 ("0000-…" fails a statement with SQLSTATE 22008).
const isWithinFourDigitYears = Schema.makeIsBetween({ order: DateTime.Order })({
  minimum: DateTime.makeUnsafe("0001-01-01T00:00:00.000Z"),
  maximum: DateTime.makeUnsafe("9999-12-31T23:59:59.999Z")
}, { message: "must be between years 0001 and 9999", expected: "a date between years 0001 and 9999" })

/**
 * `DateTime.Utc` ⇄ RFC 3339 string. Decoding accepts any offset and normalises to UTC;
 * encoding always yields `YYYY-MM-DDTHH:mm:ss.sssZ`.
 */
export const Timestamp = Schema.String.check(
  Schema.isPattern(RFC_3339, { message: "must be an RFC 3339 timestamp", expected: "an RFC 3339 timestamp" })
).pipe(
  Schema.decodeTo(Schema.DateTimeUtc.check(isWithinFourDigitYears), SchemaTransformation.dateTimeUtcFromString)
)
export type Timestamp = typeof Timestamp.Type

/** `DateTime.Utc` ⇄ JS `Date`: for decoding database rows, whose timestamps arrive as `Date`. */
export const TimestampFromDate = Schema.DateTimeUtcFromDate

/** Converts a database `Date` to a `Timestamp`. Throws on an invalid `Date` (a defect). */
export const timestampFromDate = (date: Date): Timestamp => DateTime.fromDateUnsafe(date)

/** Converts a `Timestamp` back to a `Date`, e.g. for an SQL parameter. */
export const timestampToDate = (timestamp: Timestamp): Date => DateTime.toDateUtc(timestamp)

/** The wire form of a `Timestamp`. */
export const formatTimestamp = (timestamp: Timestamp): string => DateTime.formatIso(timestamp)
