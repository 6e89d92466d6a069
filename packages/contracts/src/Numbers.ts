/** Integer schemas shared by entities, frames and RPC payloads. */
import { Schema } from "effect"

/** A count ≥ 0 (`member_count`, `last_seq`, `since_seq`, `unread_count`…). */
export const Natural = Schema.Int.check(
  Schema.isGreaterThanOrEqualTo(0, { message: "must be a non-negative integer" })
)

/** A `seq`: a message's position in its room, 1, 2, 3… with no gaps. */
export const Seq = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "must be a positive integer" }))

/** A page size already within `1..max` (RPC payloads; query strings use `LimitParam`). */
export const PageLimit = (max: number) =>
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: max }, { message: `must be an integer from 1 to ${max}` }))
