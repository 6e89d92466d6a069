/**
 * What every Connect mapping module shares: decoding with a contract Schema (a failure is
 * `BadRequest` carrying the contract's own field message), the caller-field rule of
 * CONNECT-COMPAT.md rule 3, timestamps, enums, page limits and typed RPC payload schemas.
 *
 * Direction convention: `…ToProto` is total (a contract value always fits the wire);
 * `…FromProto` builds the contract's *encoded* form from the message and decodes it with the
 * contract Schema, so the Connect edge validates exactly like REST and internal RPC.
 */
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt"
import type { Timestamp as ProtoTimestamp } from "@bufbuild/protobuf/wkt"
import { DateTime, Effect, Schema } from "effect"
import type { Rpc, RpcGroup } from "effect/rpc"
import { BadRequest, Forbidden } from "@pylon/contracts/Errors"
import { UserId } from "@pylon/contracts/Ids"
import { schemaErrorMessage } from "@pylon/contracts/SchemaErrorMessage"
import type { Timestamp } from "@pylon/contracts/Time"

/** Why a request message cannot become a contract payload: `invalid_argument` / `permission_denied`. */
export type MappingError = BadRequest | Forbidden

/** The payload type of RPC `Tag` of a contract group (what the service client takes). */
export type PayloadOf<Group, Tag extends string> = Rpc.Payload<Rpc.ExtractTag<RpcGroup.Rpcs<Group>, Tag>>

type DecodableSchema = Schema.Top & { readonly DecodingServices: never }

/** Decodes an encoded contract value; a failure is `BadRequest` naming the field. */
export const decodeWith = <S extends DecodableSchema>(schema: S, subject?: string) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (encoded: unknown): Effect.Effect<S["Type"], BadRequest> =>
    decode(encoded).pipe(Effect.mapError((error) => new BadRequest({ message: schemaErrorMessage(error, subject) })))
}

const decodeUserId = (field: string) => decodeWith(UserId, field)

/**
 * A request field naming the caller (`user_id`, `sender_id`, `creator_id`): empty → the token's
 * subject; a malformed id → `BadRequest`; any other user → `Forbidden` (`permission_denied`).
 */
export const callerFrom = (field: string, value: string, caller: UserId): Effect.Effect<UserId, MappingError> =>
  value === "" ? Effect.succeed(caller) : decodeUserId(field)(value).pipe(
    Effect.flatMap((named) =>
      named === caller
        ? Effect.succeed(named)
        : Effect.fail(new Forbidden({ message: `${field} must be empty or the caller's own id` }))
    )
  )

/** A contract `Timestamp` as a protobuf Timestamp (millisecond precision, like the contract). */
export const timestampToProto = (timestamp: Timestamp): ProtoTimestamp =>
  timestampFromMs(DateTime.toEpochMillis(timestamp))

/**
 * A protobuf Timestamp in the contract's wire form (RFC 3339), for decoding with `Timestamp`:
 * unset stays `undefined` ("is required"); one no `Date` can hold becomes a string the Schema
 * refuses (out-of-range years print as `+010000-…`, which is not RFC 3339 either).
 */
export const timestampWire = (timestamp: ProtoTimestamp | undefined): string | undefined => {
  if (timestamp === undefined) return undefined
  const date = timestampDate(timestamp)
  return Number.isNaN(date.getTime()) ? "not a timestamp" : date.toISOString()
}

/** A nullable contract timestamp: `null` ⇄ unset. */
export const nullableTimestampToProto = (timestamp: Timestamp | null): ProtoTimestamp | undefined =>
  timestamp === null ? undefined : timestampToProto(timestamp)

export const nullableTimestampWire = (timestamp: ProtoTimestamp | undefined): string | null | undefined =>
  timestamp === undefined ? null : timestampWire(timestamp)

/** A contract id that may be `null` on a plain proto3 string: ids are never empty, so `""` ⇄ `null`. */
export const emptyAsNull = (value: string): string | null => (value === "" ? null : value)

/**
 * A contract literal union ⇄ a proto enum. An enum value with no literal (`*_UNSPECIFIED`, or a
 * number this version does not know) becomes a description the contract's literal Schema refuses,
 * so the client reads the contract's own "must be one of …" message.
 */
export const enumMapping = <L extends string, E extends number>(toProto: Readonly<Record<L, E>>) => {
  const fromProto = new Map<number, L>()
  for (const literal of Object.keys(toProto) as Array<L>) fromProto.set(toProto[literal], literal)
  return {
    toProto: (literal: L): E => toProto[literal],
    fromProto: (value: number): string => fromProto.get(value) ?? (value === 0 ? "unspecified" : `unknown (${value})`)
  }
}

/**
 * An original-wire `int32 limit` (0 = not set) as a contract page limit: 0 → `fallback`, above
 * `max` clamped (like REST's `limit`), negative kept so the contract refuses it.
 */
export const pageLimit = (limit: number, fallback: number, max: number): number =>
  limit === 0 ? fallback : Math.min(limit, max)

/** Saturates a count at the int32 maximum (original-wire `int32` counts). */
export const toInt32 = (count: number): number => Math.min(count, 2 ** 31 - 1)

const hasTag = <R extends Rpc.Any, Tag extends string>(rpc: R, tag: Tag): rpc is Rpc.ExtractTag<R, Tag> =>
  rpc._tag === tag

/** The payload Schema of RPC `tag` in `group`, typed; a missing tag is a bug in this module. */
export const payloadSchema = <R extends Rpc.Any & { readonly payloadSchema: Schema.Top }, const Tag extends R["_tag"]>(
  group: { readonly requests: ReadonlyMap<string, R> },
  tag: Tag
): Rpc.ExtractTag<R, Tag>["payloadSchema"] => {
  const rpc = group.requests.get(tag)
  if (rpc === undefined || !hasTag(rpc, tag)) throw new Error(`contract group has no RPC ${tag}`)
  return rpc.payloadSchema
}

/** A contract integer (safe, so exact) as a proto `int64`. */
export const int64ToProto = (value: number): bigint => BigInt(value)

/** A proto `int64` for decoding: beyond 2^53 − 1 it is not a safe integer and the contract's `Int` refuses it. */
export const int64Wire = (value: bigint): number => Number(value)

/** Resolves a caller field (`callerFrom`), then decodes the payload `build` makes for that user. */
export const decodeForCaller = <A>(
  decode: (encoded: unknown) => Effect.Effect<A, BadRequest>,
  field: string,
  value: string,
  caller: UserId,
  build: (userId: UserId) => unknown
): Effect.Effect<A, MappingError> =>
  callerFrom(field, value, caller).pipe(Effect.flatMap((userId) => decode(build(userId))))
