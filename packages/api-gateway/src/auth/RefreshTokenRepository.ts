/**
 * Rotating refresh tokens (stored only as SHA-256 hashes). A family is one login session;
 * rotation marks the presented row and inserts its successor in one transaction, guarded so two
 * concurrent uses of the same token cannot both succeed.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

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
  readonly insert: (token: NewRefreshToken) => Effect.Effect<void, SqlError>
  readonly findByHash: (tokenHash: string) => Effect.Effect<Option.Option<RefreshTokenRow>, SqlError>
  /** Marks `previousId` rotated and inserts `next`; false when it was already rotated or revoked. */
  readonly rotate: (previousId: string, next: NewRefreshToken) => Effect.Effect<boolean, SqlError>
  readonly revokeFamily: (familyId: string) => Effect.Effect<void, SqlError>
  /** The session is not revoked and belongs to `userId` (an access token's `sid` and `sub`). */
  readonly isFamilyActive: (familyId: string, userId: string) => Effect.Effect<boolean, SqlError>
  /** Which of `familyIds` are not revoked (one query for a node's open connections). */
  readonly activeFamilies: (familyIds: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, SqlError>
}>()("pylon/gateway/RefreshTokenRepository") {}

export const PgRefreshTokenRepository = Layer.effect(
  RefreshTokenRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const decodeRows = Schema.decodeUnknownEffect(Schema.Array(RefreshTokenRow))
    const decodeFamilyIds = Schema.decodeUnknownEffect(Schema.Array(Schema.Struct({ family_id: Schema.String })))

    const insert = (token: NewRefreshToken) =>
      sql`INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
          VALUES (${token.id}, ${token.user_id}, ${token.family_id}, ${token.token_hash}, ${token.expires_at})`
        .pipe(Effect.asVoid)

    return RefreshTokenRepository.of({
      insert: Effect.fn("RefreshTokenRepository.insert")(insert),
      findByHash: Effect.fn("RefreshTokenRepository.findByHash")(function*(tokenHash: string) {
        const rows = yield* sql`
          SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at
          FROM refresh_tokens WHERE token_hash = ${tokenHash}`.pipe(
          Effect.flatMap((r) => Effect.orDie(decodeRows(r)))
        )
        return Option.fromNullishOr(rows[0])
      }),
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
      }),
      revokeFamily: Effect.fn("RefreshTokenRepository.revokeFamily")(function*(familyId: string) {
        yield* sql`UPDATE refresh_tokens SET revoked_at = now()
                   WHERE family_id = ${familyId} AND revoked_at IS NULL`
      }),
      isFamilyActive: Effect.fn("RefreshTokenRepository.isFamilyActive")(function*(familyId: string, userId: string) {
        const rows = yield* sql`SELECT 1 AS one FROM refresh_tokens
                                WHERE family_id = ${familyId} AND user_id = ${userId} AND revoked_at IS NULL LIMIT 1`
        return rows.length > 0
      }),
      activeFamilies: Effect.fn("RefreshTokenRepository.activeFamilies")(function*(familyIds: ReadonlyArray<string>) {
        if (familyIds.length === 0) return new Set<string>()
        const rows = yield* sql`SELECT DISTINCT family_id FROM refresh_tokens
                                WHERE family_id IN ${sql.in(familyIds)} AND revoked_at IS NULL`.pipe(
          Effect.flatMap((r) => Effect.orDie(decodeFamilyIds(r)))
        )
        return new Set(rows.map((row) => row.family_id))
      })
    })
  })
)
