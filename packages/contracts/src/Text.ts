/**
 * The rule every client-supplied string that may reach PostgreSQL obeys: no NUL character
 * (U+0000). PostgreSQL `text` cannot hold one (it fails the statement with SQLSTATE 22021), so
 * a NUL must be refused at the schema edge as a 400, never discovered by the database as a 500.
 */
import { Schema } from "effect"

export const NUL_MESSAGE = "must not contain NUL characters"

/** The check: a string without U+0000. Put it first so a NUL is named before other rules. */
export const isWithoutNul = () =>
  Schema.makeFilter((text: string) => !text.includes("\u0000"), {
    message: NUL_MESSAGE,
    expected: "text without NUL characters"
  })

/** Any string without NUL (free text whose other rules live elsewhere, e.g. RPC payloads). */
export const TextWithoutNul = Schema.String.check(isWithoutNul())
