/**
 * What the chat asks the server outside the WebSocket, over the generated Connect clients: rooms,
 * members, history, the presence snapshot and notifications. The session's access token goes in
 * an interceptor, refreshed ahead of expiry and once more after `unauthenticated` (as REST after a
 * 401). Every answer comes back as the page's views; every failure as an `ApiError`.
 */
import { createClient } from "@connectrpc/connect"
import type { Client, Interceptor, Transport } from "@connectrpc/connect"
import { ChatService } from "@pylon/proto-gen/chat/v1/chat"
import { NotificationService } from "@pylon/proto-gen/notification/v1/notification"
import { PresenceService } from "@pylon/proto-gen/presence/v1/presence"
import { RoomService } from "@pylon/proto-gen/room/v1/room"
import type { ChatMessage, MemberView, NotificationView, RoomType, RoomView } from "../chat/State.ts"
import { apiErrorOf, connectTransport, rpc } from "./Connect.ts"
import { memberFromPb, messageFromPb, notificationFromPb, presenceFromPb, roomFromPb, roomTypePb } from "./ProtoViews.ts"

/** The part of `SessionClient` the calls need: a valid access token, and a renewal after `unauthenticated`. */
export interface BearerSource {
  token(): Promise<string>
  renew(): Promise<void>
  readonly current: { readonly token: string }
}

export interface MessagePage {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly hasMore: boolean
}

export interface NotificationPage {
  readonly notifications: ReadonlyArray<NotificationView>
  readonly unreadCount: number
}

/** `Authorization: Bearer <access token>`; after `unauthenticated` the session is renewed and the call made once more. */
const bearer = (session: BearerSource): Interceptor => (next) => async (request) => {
  request.header.set("authorization", `Bearer ${await session.token()}`)
  try {
    return await next(request)
  } catch (error) {
    if (apiErrorOf(error).code !== "unauthorized") throw error
    await session.renew()
    request.header.set("authorization", `Bearer ${session.current.token}`)
    return next(request)
  }
}

export class PylonRpc {
  private readonly rooms: Client<typeof RoomService>
  private readonly chat: Client<typeof ChatService>
  private readonly presence: Client<typeof PresenceService>
  private readonly notifications: Client<typeof NotificationService>

  /** `makeTransport`: to this page's gateway; tests pass an in-memory one. */
  constructor(
    session: BearerSource,
    makeTransport: (interceptors: ReadonlyArray<Interceptor>) => Transport = connectTransport
  ) {
    const transport = makeTransport([bearer(session)])
    this.rooms = createClient(RoomService, transport)
    this.chat = createClient(ChatService, transport)
    this.presence = createClient(PresenceService, transport)
    this.notifications = createClient(NotificationService, transport)
  }

  /** The caller's rooms (empty `user_id`: the token's subject). */
  listRooms(): Promise<ReadonlyArray<RoomView>> {
    return rpc(async () => (await this.rooms.listRooms({})).rooms.map(roomFromPb))
  }

  createRoom(name: string, type: RoomType, memberIds: ReadonlyArray<string>): Promise<RoomView> {
    return rpc(async () => roomFromPb((await this.rooms.createRoom({ name, type: roomTypePb(type), memberIds: [...memberIds] })).room))
  }

  joinRoom(roomId: string): Promise<void> {
    return rpc(async () => {
      await this.rooms.joinRoom({ roomId })
    })
  }

  leaveRoom(roomId: string): Promise<void> {
    return rpc(async () => {
      await this.rooms.leaveRoom({ roomId })
    })
  }

  members(roomId: string): Promise<ReadonlyArray<MemberView>> {
    return rpc(async () => (await this.rooms.getRoomMembers({ roomId })).members.map(memberFromPb))
  }

  /** A page of history: the newest `limit`, those before `beforeId`, or those after `afterSeq`. */
  messages(roomId: string, page: { readonly limit: number; readonly beforeId?: string; readonly afterSeq?: number }): Promise<MessagePage> {
    return rpc(async () => {
      const answer = await this.chat.getMessages({
        roomId,
        limit: page.limit,
        beforeId: page.beforeId ?? "",
        ...(page.afterSeq === undefined ? {} : { afterSeq: BigInt(page.afterSeq) })
      })
      return { messages: answer.messages.map(messageFromPb), hasMore: answer.hasMore }
    })
  }

  /** user id → online/offline for the room's members (members only). */
  roomPresence(roomId: string): Promise<Readonly<Record<string, "online" | "offline">>> {
    return rpc(async () => {
      const snapshot: Record<string, "online" | "offline"> = {}
      for (const p of (await this.presence.getRoomPresence({ roomId })).presences) {
        const status = presenceFromPb(p)
        if (status !== undefined) snapshot[p.userId] = status
      }
      return snapshot
    })
  }

  listNotifications(limit: number): Promise<NotificationPage> {
    return rpc(async () => {
      const page = await this.notifications.getNotifications({ limit })
      return { notifications: page.notifications.map(notificationFromPb), unreadCount: page.unreadCount }
    })
  }

  markRead(notificationId: string): Promise<void> {
    return rpc(async () => {
      await this.notifications.markAsRead({ notificationId })
    })
  }
}
