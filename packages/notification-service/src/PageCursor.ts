/**
 * The opaque `next_cursor` of `GET /notifications`: a page key (`created_at` to the microsecond
 * and the notification id) as base64url text. Clients only hand it back; anything that does not
 * decode to a well-formed key is a `BadRequest`.
 */
import { Effect, Option, Schema } from "effect"
import { BadRequest } from "@pylon/contracts/Errors"
import { NotificationId } from "@pylon/contracts/Ids"
import type { PageKey } from "./NotificationRepository.ts"

const KEY_TEXT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|(.+)$/

const decodeId = Schema.decodeUnknownOption(NotificationId)

// PostgreSQL has no year 0 (JS's year 0 is its 1 BC): "0000-…" would fail the query (SQLSTATE 22008).
const EARLIEST_KEY = Date.parse("0001-01-01T00:00:00Z")

/** `2026-02-30T…` matches the pattern but is no date; PostgreSQL would reject it with an error. */
const isRealInstant = (text: string): boolean => {
  const millis = Date.parse(`${text.slice(0, 19)}Z`)
  return !Number.isNaN(millis) && millis >= EARLIEST_KEY &&
    new Date(millis).toISOString().slice(0, 19) === text.slice(0, 19)
}

export const encodeCursor = (key: PageKey): string => Buffer.from(`${key.createdAt}|${key.id}`, "utf8").toString("base64url")

const keyOf = (cursor: string): Option.Option<PageKey> => {
  const match = KEY_TEXT.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  const createdAt = match?.[1]
  const id = match?.[2]
  if (createdAt === undefined || id === undefined || !isRealInstant(createdAt)) return Option.none()
  return Option.map(decodeId(id), (notificationId) => ({ createdAt, id: notificationId }))
}

export const decodeCursor = (cursor: string): Effect.Effect<PageKey, BadRequest> =>
  Option.match(keyOf(cursor), {
    onNone: () => Effect.fail(new BadRequest({ message: "cursor: must be a cursor returned by a previous page" })),
    onSome: Effect.succeed
  })
