/**
 * Who is notified of a message, and with what (API.md §5a). Pure functions of the event and the
 * room as it is when the event is processed:
 * - `direct` and `group` rooms: every member but the sender, type `message`; a member the
 *   message mentions gets type `mention` instead (one notification per user and message);
 * - `channel` rooms: only members mentioned as `@username`, type `mention`.
 * The sender is never notified, not even of their own mention. Mentions match usernames
 * case-insensitively (usernames are unique case-insensitively); `@name` must not follow a
 * username character (so `bob@example.com` mentions nobody), and trailing dots are ignored
 * ("thanks @alice." mentions alice). The body is the first 100 characters of the content,
 * counted in code points so an emoji is never cut in half.
 */
import type { MessageCreatedData } from "@pylon/contracts/Events"
import type { MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import type { NotificationType } from "@pylon/contracts/Notifications"
import type { RoomType } from "@pylon/contracts/Rooms"

export const BODY_LENGTH = 100

export interface RoomMember {
  readonly user_id: UserId
  readonly username: string
}

/** A room with its current members, as the notification service reads it. */
export interface RoomSnapshot {
  readonly id: RoomId
  readonly name: string
  readonly type: RoomType
  readonly members: ReadonlyArray<RoomMember>
}

/** A notification to store (the store adds id, read state and created_at). */
export interface NotificationDraft {
  readonly user_id: UserId
  readonly type: NotificationType
  readonly title: string
  readonly body: string
  readonly room_id: RoomId
  readonly message_id: MessageId | null
}

/** The first `BODY_LENGTH` characters (code points) of `content`. */
export const bodyOf = (content: string): string => {
  const chars = Array.from(content)
  return chars.length <= BODY_LENGTH ? content : chars.slice(0, BODY_LENGTH).join("")
}

// `@` not preceded by a username character, then the longest run of username characters.
const MENTION = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]+)/g

/** Lower-cased usernames `content` mentions (each token with and without trailing dots). */
export const mentionedUsernames = (content: string): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const match of content.matchAll(MENTION)) {
    const token = match[1]
    if (token === undefined) continue
    const lower = token.toLowerCase()
    names.add(lower)
    names.add(lower.replace(/\.+$/, ""))
  }
  return names
}

const titleOf = (type: NotificationType, event: MessageCreatedData, room: RoomSnapshot): string => {
  const sender = event.sender_username
  if (type === "mention") return room.type === "direct" ? `${sender} mentioned you` : `${sender} mentioned you in ${room.name}`
  return room.type === "direct" ? `New message from ${sender}` : `New message from ${sender} in ${room.name}`
}

/** The notifications `event` gives rise to in `room`, in member order. */
export const notificationsFor = (event: MessageCreatedData, room: RoomSnapshot): ReadonlyArray<NotificationDraft> => {
  const mentioned = mentionedUsernames(event.content)
  const body = bodyOf(event.content)
  const drafts: Array<NotificationDraft> = []
  for (const member of room.members) {
    if (member.user_id === event.sender_id) continue
    const isMentioned = mentioned.has(member.username.toLowerCase())
    if (room.type === "channel" && !isMentioned) continue
    const type: NotificationType = isMentioned ? "mention" : "message"
    drafts.push({
      user_id: member.user_id,
      type,
      title: titleOf(type, event, room),
      body,
      room_id: event.room_id,
      message_id: event.message_id
    })
  }
  return drafts
}
