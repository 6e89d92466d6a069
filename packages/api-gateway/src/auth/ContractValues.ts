/**
 * Stored users and sessions as the contract values the gateway answers with (REST through
 * `respondWith`, Connect through the mapping layer), so both surfaces show the same fields.
 */
import { AuthResult, TokenPair, User } from "@pylon/contracts/Auth"
import { UserId } from "@pylon/contracts/Ids"
import { timestampFromDate } from "@pylon/contracts/Time"
import type { Session } from "./AuthService.ts"
import type { UserRow } from "./UserRepository.ts"

/** The contract `User` of a stored row (its id is a UUID the database holds, so a bad one is a bug). */
export const userOf = (row: UserRow): User =>
  new User({
    id: UserId.make(row.id),
    username: row.username,
    email: row.email,
    display_name: row.display_name,
    avatar_url: row.avatar_url,
    created_at: timestampFromDate(row.created_at)
  })

export const tokenPairOf = (session: Session): TokenPair =>
  TokenPair.make({
    token: session.token,
    refresh_token: session.refreshToken,
    expires_at: timestampFromDate(session.expiresAt),
    refresh_expires_at: timestampFromDate(session.refreshExpiresAt)
  })

export const authResultOf = (session: Session): AuthResult =>
  AuthResult.make({ user: userOf(session.user), ...tokenPairOf(session) })
