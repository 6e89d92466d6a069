/**
 * New entity ids: time-ordered UUID v7 (API.md §1), so primary-key indexes stay append-mostly.
 */
import { Effect } from "effect"
import { v7 } from "uuid"

export const newId: Effect.Effect<string> = Effect.sync(() => v7())
