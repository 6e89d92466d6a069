/**
 * Generated cases refer to live fixtures (the fuzz user's rooms, a real message id, the current
 * refresh token…) by name, because those values only exist once a server is running: a case is
 * generated from the seed alone and resolved just before it is sent. `FZX<name>FZX` stands for
 * a string value (inside a JSON string, a path segment or a query value); the quoted
 * `"FZXN<name>FZX"` for a raw JSON number.
 */

export const FIXTURE_NAMES = [
  "ownRoom",
  "memberRoom",
  "channel",
  "foreignRoom",
  "directRoom",
  "selfUserId",
  "otherUserId",
  "selfUsername",
  "selfEmail",
  "selfPassword",
  "messageId",
  "notificationId",
  "refreshToken",
  "staleRefreshToken"
] as const
export type FixtureName = typeof FIXTURE_NAMES[number]

/** Fixtures that are rooms (valid path ids and `room_id`s). */
export const ROOM_FIXTURES = ["ownRoom", "memberRoom", "channel", "foreignRoom", "directRoom"] as const satisfies ReadonlyArray<FixtureName>
export type RoomFixture = typeof ROOM_FIXTURES[number]

/** A placeholder for a string fixture. */
export const ph = (name: FixtureName): string => `FZX${name}FZX`

/** A placeholder for a number, `"FZXN<name>FZX"` in JSON text: resolved by `numbers[name]`. */
export const phNumber = (name: string): string => `FZXN${name}FZX`

const STRING = /FZX([A-Za-z]+)FZX/g
const NUMBER = /"FZXN([A-Za-z0-9]+)FZX"/g

export interface FixtureValues {
  readonly strings: Readonly<Record<FixtureName, string>>
  /** Numbers by name, e.g. `recentSeq:ownRoom` → a `since_seq` just below that room's last seq. */
  readonly number: (name: string) => number
}

/** Replaces every placeholder in `text` with its live value (unknown names are left alone). */
export const resolvePlaceholders = (text: string, values: FixtureValues): string =>
  text
    .replace(NUMBER, (_match, name: string) => String(values.number(name)))
    .replace(STRING, (match, name: string) =>
      Object.hasOwn(values.strings, name) ? values.strings[name as FixtureName] : match
    )

/** True when `text` mentions a placeholder (bytes payloads never do). */
export const hasPlaceholder = (text: string): boolean => text.includes("FZX")
