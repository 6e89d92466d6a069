/**
 * The generated Connect messages as the page's views (chat/State.ts): enums to the contract's
 * strings, int64 to numbers, timestamps to epoch ms. An enum value the page does not know is an
 * invalid answer, not a guess.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt"
import type { Timestamp } from "@bufbuild/protobuf/wkt"
import type { Message } from "@pylon/proto-gen/chat/v1/chat"
import { NotificationType } from "@pylon/proto-gen/notification/v1/notification"
import type { Notification } from "@pylon/proto-gen/notification/v1/notification"
import { PresenceStatus } from "@pylon/proto-gen/presence/v1/presence"
import type { PresenceEvent } from "@pylon/proto-gen/presence/v1/presence"
import { RoomType as RoomTypePb } from "@pylon/proto-gen/room/v1/room"
import type { Room, RoomMember } from "@pylon/proto-gen/room/v1/room"
import type { ChatMessage, MemberView, NotificationView, RoomType, RoomView } from "../chat/State.ts"
import { invalidResponse } from "./Connect.ts"

const millis = (t: Timestamp | undefined): number => {
  if (t === undefined) throw invalidResponse()
  return timestampMs(t)
}

const ROOM_TYPES: ReadonlyMap<RoomTypePb, RoomType> = new Map([
  [RoomTypePb.DIRECT, "direct"],
  [RoomTypePb.GROUP, "group"],
  [RoomTypePb.CHANNEL, "channel"]
])

export const roomTypeOf = (type: RoomTypePb): RoomType => {
  const known = ROOM_TYPES.get(type)
  if (known === undefined) throw invalidResponse()
  return known
}

export const roomTypePb = (type: RoomType): RoomTypePb => {
  switch (type) {
    case "direct":
      return RoomTypePb.DIRECT
    case "group":
      return RoomTypePb.GROUP
    case "channel":
      return RoomTypePb.CHANNEL
  }
}

export const roomFromPb = (room: Room | undefined): RoomView => {
  if (room === undefined) throw invalidResponse()
  return {
    id: room.id,
    name: room.name,
    type: roomTypeOf(room.type),
    createdBy: room.createdBy,
    memberCount: Number(room.memberCount),
    lastSeq: Number(room.lastSeq),
    activityAt: millis(room.lastMessageAt ?? room.createdAt)
  }
}

export const messageFromPb = (m: Message): ChatMessage => ({
  id: m.id,
  seq: Number(m.seq),
  senderId: m.senderId,
  senderName: m.senderDisplayName ?? m.senderUsername,
  content: m.content,
  clientMsgId: m.clientMsgId === "" ? null : m.clientMsgId,
  createdAt: millis(m.createdAt)
})

export const memberFromPb = (m: RoomMember): MemberView => ({
  userId: m.userId,
  username: m.displayName ?? m.username,
  role: m.role
})

const NOTIFICATION_TYPES: ReadonlyMap<NotificationType, string> = new Map([
  [NotificationType.MESSAGE, "message"],
  [NotificationType.MENTION, "mention"],
  [NotificationType.INVITE, "invite"]
])

export const notificationFromPb = (n: Notification): NotificationView => {
  const type = NOTIFICATION_TYPES.get(n.type)
  if (type === undefined) throw invalidResponse()
  return { id: n.id, type, title: n.title, body: n.body, roomId: n.roomId, read: n.read, createdAt: millis(n.createdAt) }
}

/** Typing counts as online; a status the page does not know is left out. */
export const presenceFromPb = (p: PresenceEvent): "online" | "offline" | undefined =>
  p.status === PresenceStatus.ONLINE || p.status === PresenceStatus.TYPING
    ? "online"
    : p.status === PresenceStatus.OFFLINE
    ? "offline"
    : undefined
