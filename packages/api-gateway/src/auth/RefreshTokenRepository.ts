/**
 * Rotating refresh tokens (stored only as SHA-256 hashes). A family is one login session;
 * rotation marks the presented row and inserts its successor in one transaction, guarded so two
 * concurrent uses of the same token cannot both succeed. Every value reaching SQL is made by the
 * server (ids, hashes, dates), so any SQL failure is `Unavailable` or a defect, mapped here once
 * (platform/SqlFailures.ts); rows decode through `SqlSchema`.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Option } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { Unavailable } from "@pylon/contracts/Errors"
import { rowSchemaFailureToDefect, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"

export const RefreshTokenRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  family_id: Schema.String,
  expires_at: Schema.Date,
  rotated_at: Schema.NullOr(Schema.Date),
  revoked_at: Schema.NullOr(Schema.Date)
})
export type RefreshTokenRow = typeof RefreshTokenRow.Type

export interface NewRefreshToken {
  readonly id: string
  readonly user_id: string
  readonly family_id: string
  readonly token_hash: string
  readonly expires_at: Date
}

export class RefreshTokenRepository extends Context.Service<RefreshTokenRepository, {
  readonly insert: (token: NewRefreshToken) => Effect.Effect<void, Unavailable>
  readonly findByHash: (tokenHash: string) => Effect.Effect<Option.Option<RefreshTokenRow>, Unavailable>
  /** Marks `previousId` rotated and inserts `next`; false when it was already rotated or revoked. */
  readonly rotate: (previousId: string, next: NewRefreshToken) => Effect.Effect<boolean, Unavailable>
  readonly revokeFamily: (familyId: string) => Effect.Effect<void, Unavailable>
  /** The session is not revoked and belongs to `userId` (an access token's `sid` and `sub`). */
  readonly isFamilyActive: (familyId: string, userId: string) => Effect.Effect<boolean, Unavailable>
  /** Which of `familyIds` are not revoked (one query for a node's open connections). */
  readonly activeFamilies: (familyIds: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, Unavailable>
}>()("pylon/gateway/RefreshTokenRepository") {}

const FamilyRow = Schema.Struct({ family_id: Schema.String })

export const PgRefreshTokenRepository = Layer.effect(
  RefreshTokenRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient

    const insert = (token: NewRefreshToken) =>
      sql`INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
          VALUES (${token.id}, ${token.user_id}, ${token.family_id}, ${token.token_hash}, ${token.expires_at})`
        .pipe(Effect.asVoid)

    const findByHash = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: RefreshTokenRow,
      execute: (tokenHash) =>
        sql`
          SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at
          FROM refresh_tokens WHERE token_hash = ${tokenHash}`
    })

    const findActiveFamilies = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: FamilyRow,
      execute: (familyIds) =>
        sql`SELECT DISTINCT family_id FROM refresh_tokens
            WHERE family_id IN ${sql.in(familyIds)} AND revoked_at IS NULL`
    })

    return RefreshTokenRepository.of({
      insert: Effect.fn("RefreshTokenRepository.insert")(insert, sqlFailureToUnavailable),
      findByHash: Effect.fn("RefreshTokenRepository.findByHash")(function*(tokenHash: string) {
        return yield* findByHash(tokenHash)
      }, rowSchemaFailureToDefect, sqlFailureToUnavailable),
      rotate: Effect.fn("RefreshTokenRepository.rotate")(function*(previousId: string, next: NewRefreshToken) {
        return yield* sql.withTransaction(Effect.gen(function*() {
          const updated = yield* sql`
            UPDATE refresh_tokens SET rotated_at = now(), replaced_by = ${next.id}
            WHERE id = ${previousId} AND rotated_at IS NULL AND revoked_at IS NULL
            RETURNING id`
          if (updated.length === 0) return false
          yield* insert(next)
          return true
        }))
      }, sqlFailureToUnavailable),
      revokeFamily: Effect.fn("RefreshTokenRepository.revokeFamily")(function*(familyId: string) {
        yield* sql`UPDATE refresh_tokens SET revoked_at = now()
                   WHERE family_id = ${familyId} AND revoked_at IS NULL`
      }, sqlFailureToUnavailable),
      isFamilyActive: Effect.fn("RefreshTokenRepository.isFamilyActive")(function*(familyId: string, userId: string) {
        const rows = yield* sql`SELECT 1 AS one FROM refresh_tokens
                                WHERE family_id = ${familyId} AND user_id = ${userId} AND revoked_at IS NULL LIMIT 1`
        return rows.length > 0
      }, sqlFailureToUnavailable),
      activeFamilies: Effect.fn("RefreshTokenRepository.activeFamilies")(function*(familyIds: ReadonlyArray<string>) {
        if (familyIds.length === 0) return new Set<string>()
        const rows = yield* findActiveFamilies(familyIds)
        return new Set(rows.map((row) => row.family_id))
      }, rowSchemaFailureToDefect, sqlFailureToUnavailable)
    })
  })
)
