/**
 * Everything the page does for one signed-in person, as one observable store: Connect
 * (`PylonRpc`) for rooms, history, members, the presence snapshot and notifications, REST for what
 * Connect has no RPC for (channel discovery, marking every notification read); the WebSocket for
 * live messages, typing and presence. Sends are shown at once as pending and kept until their `ack`; a send that fails for
 * a transient reason, or whose connection drops, is sent again with the same `client_msg_id`
 * (the server stores it once). After a reconnect every room is joined again with `since_seq` = the
 * newest seq shown, so the server replays exactly what was missed.
 */
import { DateTime } from "effect"
import { RoomsResponse } from "@pylon/contracts/Rooms"
import type { Room } from "@pylon/contracts/Rooms"
import type { Message } from "@pylon/contracts/Messages"
import { ReadAllResult } from "@pylon/contracts/Notifications"
import type { Notification } from "@pylon/contracts/Notifications"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { apiErrorOf } from "../api/Connect.ts"
import { RETRYABLE_WS_ERRORS, wsErrorText } from "../api/ErrorText.ts"
import { PylonRpc } from "../api/PylonRpc.ts"
import type { SessionClient, StoredSession } from "../api/Session.ts"
import { ChatSocket } from "./ChatSocket.ts"
import type { OutgoingFrame } from "./ChatSocket.ts"
import { emptyRoomState, highestSeq, initialChatState, mergeMessages, sortRooms } from "./State.ts"
import type { ChatMessage, ChatState, NotificationView, PendingMessage, RoomState, RoomType, RoomView } from "./State.ts"

const HISTORY_PAGE = 50
/** Rooms joined on the socket (live messages, typing, presence): the most active ones. */
const LIVE_ROOMS = 25
const TYPING_SEND_EVERY_MS = 2_000
const TYPING_SHOWN_MS = 5_000
/** An unacknowledged send is sent again (same client_msg_id) after this long. */
const ACK_TIMEOUT_MS = 10_000
const ROOMS_REFRESH_MS = 30_000

const millis = (t: DateTime.Utc): number => DateTime.toEpochMillis(t)

/** A room of the REST channel directory. */
const roomView = (room: Room): RoomView => ({
  id: room.id,
  name: room.name,
  type: room.type,
  createdBy: room.created_by,
  memberCount: room.member_count,
  lastSeq: room.last_seq,
  activityAt: room.last_message_at === null ? millis(room.created_at) : millis(room.last_message_at)
})

/** A `message` frame with its `message_id` as `id`. */
type MessageLike = Pick<Message, "seq" | "sender" | "content" | "client_msg_id" | "created_at"> & { readonly id: string }

const messageView = (m: MessageLike): ChatMessage => ({
  id: m.id,
  seq: m.seq,
  senderId: m.sender.id,
  senderName: m.sender.display_name ?? m.sender.username,
  content: m.content,
  clientMsgId: m.client_msg_id,
  createdAt: millis(m.created_at)
})

const notificationView = (n: Notification): NotificationView => ({
  id: n.id,
  type: n.type,
  title: n.title,
  body: n.body,
  roomId: n.room_id,
  read: n.read,
  createdAt: millis(n.created_at)
})

const errorText = (error: unknown): string => apiErrorOf(error).message

export class ChatClient {
  private state: ChatState
  private readonly listeners = new Set<() => void>()
  private readonly socket: ChatSocket
  private readonly rpc: PylonRpc
  /** Rooms this connection has joined (own `user_joined` received). */
  private readonly joined = new Set<string>()
  private readonly typingSentAt = new Map<string, number>()
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private noticeId = 0
  private openRoomId: string | undefined

  constructor(private readonly session: SessionClient) {
    this.state = { ...initialChatState, lastRead: this.readLastRead() }
    this.rpc = new PylonRpc(session)
    this.socket = new ChatSocket({
      url: async () => {
        const token = await this.session.token()
        const scheme = location.protocol === "https:" ? "wss:" : "ws:"
        return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`
      },
      onOpen: () => this.onSocketOpen(),
      onFrame: (frame) => this.onFrame(frame),
      onState: (connection) => this.update({ connection }),
      onPolicyClose: () => this.session.renew().then(() => true, () => false)
    })
  }

  get currentSession(): StoredSession {
    return this.session.current
  }

  get me(): { readonly id: string; readonly username: string } {
    return this.session.current.user
  }

  // --- store ----------------------------------------------------------------------------------

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  readonly getState = (): ChatState => this.state

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch }
    for (const listener of this.listeners) listener()
  }

  private updateRoom(roomId: string, change: (room: RoomState) => RoomState): void {
    const current = this.state.roomState[roomId] ?? emptyRoomState
    this.update({ roomState: { ...this.state.roomState, [roomId]: change(current) } })
  }

  private updateRoomView(roomId: string, change: (room: RoomView) => RoomView): void {
    this.update({ rooms: sortRooms(this.state.rooms.map((room) => (room.id === roomId ? change(room) : room))) })
  }

  notify(text: string): void {
    this.update({ notice: { id: ++this.noticeId, text } })
  }

  dismissNotice(): void {
    this.update({ notice: undefined })
  }

  // --- lifecycle ------------------------------------------------------------------------------

  start(): void {
    this.socket.start()
    void this.refreshRooms()
    void this.loadNotifications()
    this.timers = [
      setInterval(() => this.pruneTyping(), 1_000),
      setInterval(() => void this.refreshRooms(), ROOMS_REFRESH_MS)
    ]
    document.addEventListener("visibilitychange", this.onVisibility)
  }

  stop(): void {
    this.socket.stop()
    for (const timer of this.timers) clearInterval(timer)
    for (const timer of this.ackTimers.values()) clearTimeout(timer)
    document.removeEventListener("visibilitychange", this.onVisibility)
  }

  private readonly onVisibility = (): void => {
    if (this.openRoomId !== undefined) this.markSeen(this.openRoomId)
  }

  // --- rooms ----------------------------------------------------------------------------------

  async refreshRooms(): Promise<void> {
    try {
      const rooms = await this.rpc.listRooms()
      const known = new Map(this.state.rooms.map((room) => [room.id, room]))
      const views = rooms.map((view) => {
        const live = known.get(view.id)
        // A live frame may be newer than the list that was read.
        return live !== undefined && live.lastSeq > view.lastSeq ? { ...view, lastSeq: live.lastSeq, activityAt: live.activityAt } : view
      })
      this.update({ rooms: sortRooms(views), roomsLoaded: true })
      this.joinLiveRooms()
    } catch (error) {
      this.notify(errorText(error))
    }
  }

  async createRoom(name: string, type: RoomType, memberIds: ReadonlyArray<string>): Promise<string | undefined> {
    try {
      const room = await this.rpc.createRoom(name, type, memberIds)
      this.addRoom(room)
      return room.id
    } catch (error) {
      this.notify(errorText(error))
      return undefined
    }
  }

  async searchChannels(query: string): Promise<ReadonlyArray<RoomView>> {
    const params = new URLSearchParams({ q: query, limit: "50" })
    const { rooms } = await this.session.call(`/api/v1/channels?${params.toString()}`, RoomsResponse)
    return rooms.map(roomView)
  }

  async joinChannel(room: RoomView): Promise<boolean> {
    try {
      await this.rpc.joinRoom(room.id)
      this.addRoom({ ...room, memberCount: room.memberCount + 1 })
      return true
    } catch (error) {
      this.notify(errorText(error))
      return false
    }
  }

  async leaveRoom(roomId: string): Promise<boolean> {
    try {
      await this.rpc.leaveRoom(roomId)
      this.joined.delete(roomId)
      const { [roomId]: _, ...rest } = this.state.roomState
      this.update({ rooms: this.state.rooms.filter((room) => room.id !== roomId), roomState: rest })
      return true
    } catch (error) {
      this.notify(errorText(error))
      return false
    }
  }

  private addRoom(view: RoomView): void {
    if (!this.state.rooms.some((room) => room.id === view.id)) this.update({ rooms: sortRooms([view, ...this.state.rooms]) })
    this.joinRoom(view.id)
  }

  /** Opens a room: history (first page), members, presence; marks it read while shown. */
  async openRoom(roomId: string | undefined): Promise<void> {
    this.openRoomId = roomId
    if (roomId === undefined) return
    this.joinRoom(roomId)
    this.markSeen(roomId)
    const state = this.state.roomState[roomId]
    await Promise.all([
      state?.historyLoaded === true ? Promise.resolve() : this.loadLatest(roomId),
      this.loadMembers(roomId)
    ])
    this.markSeen(roomId)
  }

  private async loadLatest(roomId: string): Promise<void> {
    try {
      const page = await this.rpc.messages(roomId, { limit: HISTORY_PAGE })
      this.updateRoom(roomId, (room) => ({
        ...room,
        messages: mergeMessages(room.messages, page.messages),
        historyLoaded: true,
        hasMore: page.hasMore
      }))
    } catch (error) {
      this.notify(errorText(error))
    }
  }

  /** The page before the oldest message shown (infinite scroll upwards). */
  async loadOlder(roomId: string): Promise<void> {
    const room = this.state.roomState[roomId]
    const oldest = room?.messages[0]
    if (room === undefined || oldest === undefined || !room.hasMore || room.loadingOlder) return
    this.updateRoom(roomId, (r) => ({ ...r, loadingOlder: true }))
    try {
      const page = await this.rpc.messages(roomId, { limit: HISTORY_PAGE, beforeId: oldest.id })
      this.updateRoom(roomId, (r) => ({
        ...r,
        messages: mergeMessages(r.messages, page.messages),
        hasMore: page.hasMore,
        loadingOlder: false
      }))
    } catch (error) {
      this.updateRoom(roomId, (r) => ({ ...r, loadingOlder: false }))
      this.notify(errorText(error))
    }
  }

  private async loadMembers(roomId: string): Promise<void> {
    try {
      const [members, presence] = await Promise.all([
        this.rpc.members(roomId),
        this.rpc.roomPresence(roomId).catch(() => undefined)
      ])
      this.updateRoom(roomId, (room) => ({ ...room, members }))
      if (presence !== undefined) this.update({ presence: { ...this.state.presence, ...presence } })
    } catch (error) {
      this.notify(errorText(error))
    }
  }

  /** Everything up to the newest message shown in an open, visible room counts as read. */
  private markSeen(roomId: string): void {
    if (roomId !== this.openRoomId || document.visibilityState === "hidden") return
    const room = this.state.rooms.find((r) => r.id === roomId)
    const seen = Math.max(highestSeq(this.state.roomState[roomId]), room?.lastSeq ?? 0)
    if ((this.state.lastRead[roomId] ?? 0) >= seen) return
    const lastRead = { ...this.state.lastRead, [roomId]: seen }
    this.update({ lastRead })
    localStorage.setItem(this.lastReadKey(), JSON.stringify(lastRead))
  }

  private lastReadKey(): string {
    return `pylon.read.${this.session.current.user.id}`
  }

  private readLastRead(): Record<string, number> {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(this.lastReadKey()) ?? "{}")
      if (typeof parsed !== "object" || parsed === null) return {}
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === "number"))
    } catch {
      return {}
    }
  }

  // --- the socket -----------------------------------------------------------------------------

  private send(frame: OutgoingFrame): boolean {
    return this.socket.send(frame)
  }

  private joinRoom(roomId: string): void {
    if (this.joined.has(roomId) || !this.socket.isOpen) return
    const since = highestSeq(this.state.roomState[roomId])
    this.send(since > 0 ? { type: "join", room_id: roomId, since_seq: since } : { type: "join", room_id: roomId })
  }

  private joinLiveRooms(): void {
    const wanted = this.state.rooms.slice(0, LIVE_ROOMS).map((room) => room.id)
    if (this.openRoomId !== undefined && !wanted.includes(this.openRoomId)) wanted.push(this.openRoomId)
    for (const roomId of wanted) this.joinRoom(roomId)
  }

  private onSocketOpen(): void {
    this.joined.clear()
    this.joinLiveRooms()
    // Rooms created or joined elsewhere, and notifications missed while away.
    void this.refreshRooms()
    void this.loadNotifications()
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "message":
        this.receive(frame.room_id, messageView({ ...frame, id: frame.message_id }))
        return
      case "ack":
        if (frame.client_msg_id !== null) this.acked(frame.room_id, frame.client_msg_id)
        return
      case "user_joined":
        if (frame.user.id === this.me.id && frame.last_seq !== undefined) {
          this.joined.add(frame.room_id)
          const lastSeq = frame.last_seq
          this.updateRoomView(frame.room_id, (room) => ({ ...room, lastSeq: Math.max(room.lastSeq, lastSeq) }))
          this.markSeen(frame.room_id)
          this.flushPending(frame.room_id)
        } else {
          this.update({ presence: { ...this.state.presence, [frame.user.id]: "online" } })
          const members = this.state.roomState[frame.room_id]?.members
          if (members !== undefined && !members.some((m) => m.userId === frame.user.id)) void this.loadMembers(frame.room_id)
        }
        return
      case "user_left":
        if (frame.user_id === this.me.id) this.joined.delete(frame.room_id)
        return
      case "typing":
        if (frame.user_id === this.me.id) return
        this.updateRoom(frame.room_id, (room) => ({
          ...room,
          typing: { ...room.typing, [frame.user_id]: { username: frame.username, until: Date.now() + TYPING_SHOWN_MS } }
        }))
        return
      case "presence":
        this.update({ presence: { ...this.state.presence, [frame.user_id]: frame.status } })
        return
      case "notification": {
        const view = notificationView(frame.notification)
        if (this.state.notifications.some((n) => n.id === view.id)) return
        this.update({
          notifications: [view, ...this.state.notifications],
          unreadNotifications: this.state.unreadNotifications + (view.read ? 0 : 1)
        })
        return
      }
      case "error":
        this.onErrorFrame(frame)
        return
      case "pong":
        return
    }
  }

  private receive(roomId: string, message: ChatMessage): void {
    const before = this.state.roomState[roomId]
    const gap = before !== undefined && before.messages.length > 0 && message.seq > highestSeq(before) + 1
    this.updateRoom(roomId, (room) => ({
      ...room,
      messages: mergeMessages(room.messages, [message]),
      pending: message.clientMsgId === null || message.senderId !== this.me.id
        ? room.pending
        : room.pending.filter((p) => p.clientMsgId !== message.clientMsgId),
      typing: Object.fromEntries(Object.entries(room.typing).filter(([userId]) => userId !== message.senderId))
    }))
    if (message.clientMsgId !== null) this.clearAckTimer(message.clientMsgId)
    if (this.state.rooms.some((room) => room.id === roomId)) {
      this.updateRoomView(roomId, (room) => ({
        ...room,
        lastSeq: Math.max(room.lastSeq, message.seq),
        activityAt: Math.max(room.activityAt, message.createdAt)
      }))
    } else {
      void this.refreshRooms()
    }
    if (gap && before !== undefined) void this.fillGap(roomId, highestSeq(before))
    this.markSeen(roomId)
  }

  /** Messages after `afterSeq` by `GetMessages` (a live message arrived ahead of the ones shown). */
  private async fillGap(roomId: string, afterSeq: number): Promise<void> {
    try {
      const page = await this.rpc.messages(roomId, { limit: 100, afterSeq })
      this.updateRoom(roomId, (room) => ({ ...room, messages: mergeMessages(room.messages, page.messages) }))
    } catch {
      // The next reconnect's since_seq replay covers it.
    }
  }

  private onErrorFrame(frame: Extract<ServerFrame, { type: "error" }>): void {
    const ref = frame.ref
    const entry = ref === undefined ? undefined : this.findPending(ref)
    if (entry === undefined) {
      this.notify(wsErrorText(frame.code, frame.message))
      return
    }
    const [roomId, pending] = entry
    if (RETRYABLE_WS_ERRORS.has(frame.code) && pending.attempts < 8) {
      if (frame.code === "NOT_JOINED") this.joined.delete(roomId)
      this.clearAckTimer(pending.clientMsgId)
      const delay = Math.min(8_000, 500 * 2 ** pending.attempts)
      this.ackTimers.set(pending.clientMsgId, setTimeout(() => {
        this.ackTimers.delete(pending.clientMsgId)
        if (this.joined.has(roomId)) this.transmit(roomId, pending.clientMsgId)
        else this.joinRoom(roomId)
      }, delay))
      return
    }
    this.setPending(roomId, pending.clientMsgId, (p) => ({ ...p, status: "failed", error: wsErrorText(frame.code, frame.message) }))
  }

  // --- sending --------------------------------------------------------------------------------

  sendMessage(roomId: string, content: string): void {
    const pending: PendingMessage = {
      clientMsgId: crypto.randomUUID(),
      content,
      status: "sending",
      error: undefined,
      attempts: 0
    }
    this.updateRoom(roomId, (room) => ({ ...room, pending: [...room.pending, pending] }))
    this.transmit(roomId, pending.clientMsgId)
  }

  retry(roomId: string, clientMsgId: string): void {
    this.setPending(roomId, clientMsgId, (p) => ({ ...p, status: "sending", error: undefined, attempts: 0 }))
    this.transmit(roomId, clientMsgId)
  }

  discard(roomId: string, clientMsgId: string): void {
    this.clearAckTimer(clientMsgId)
    this.updateRoom(roomId, (room) => ({ ...room, pending: room.pending.filter((p) => p.clientMsgId !== clientMsgId) }))
  }

  typing(roomId: string): void {
    const now = Date.now()
    if (now - (this.typingSentAt.get(roomId) ?? 0) < TYPING_SEND_EVERY_MS || !this.joined.has(roomId)) return
    this.typingSentAt.set(roomId, now)
    this.send({ type: "typing", room_id: roomId })
  }

  /** Sends (or re-sends) one pending message; it stays pending until its ack. */
  private transmit(roomId: string, clientMsgId: string): void {
    const pending = this.state.roomState[roomId]?.pending.find((p) => p.clientMsgId === clientMsgId)
    if (pending === undefined || pending.status !== "sending") return
    if (!this.joined.has(roomId)) {
      this.joinRoom(roomId) // flushPending sends it once joined
      return
    }
    this.setPending(roomId, clientMsgId, (p) => ({ ...p, attempts: p.attempts + 1 }))
    this.send({ type: "message", room_id: roomId, content: pending.content, msg_type: "text", client_msg_id: clientMsgId })
    this.clearAckTimer(clientMsgId)
    this.ackTimers.set(clientMsgId, setTimeout(() => {
      this.ackTimers.delete(clientMsgId)
      this.transmit(roomId, clientMsgId)
    }, ACK_TIMEOUT_MS))
  }

  private flushPending(roomId: string): void {
    for (const p of this.state.roomState[roomId]?.pending ?? []) {
      if (p.status === "sending") this.transmit(roomId, p.clientMsgId)
    }
  }

  private acked(roomId: string, clientMsgId: string): void {
    this.clearAckTimer(clientMsgId)
    // Shown as sent; the `message` frame (or the since_seq replay) puts it in its place.
    this.setPending(roomId, clientMsgId, (p) => ({ ...p, status: "sent", error: undefined }))
  }

  private clearAckTimer(clientMsgId: string): void {
    const timer = this.ackTimers.get(clientMsgId)
    if (timer !== undefined) clearTimeout(timer)
    this.ackTimers.delete(clientMsgId)
  }

  private findPending(clientMsgId: string): [string, PendingMessage] | undefined {
    for (const [roomId, room] of Object.entries(this.state.roomState)) {
      const pending = room.pending.find((p) => p.clientMsgId === clientMsgId)
      if (pending !== undefined) return [roomId, pending]
    }
    return undefined
  }

  private setPending(roomId: string, clientMsgId: string, change: (p: PendingMessage) => PendingMessage): void {
    this.updateRoom(roomId, (room) => ({
      ...room,
      pending: room.pending.map((p) => (p.clientMsgId === clientMsgId ? change(p) : p))
    }))
  }

  private pruneTyping(): void {
    const now = Date.now()
    for (const [roomId, room] of Object.entries(this.state.roomState)) {
      const entries = Object.entries(room.typing)
      if (entries.some(([, t]) => t.until <= now)) {
        this.updateRoom(roomId, (r) => ({ ...r, typing: Object.fromEntries(entries.filter(([, t]) => t.until > now)) }))
      }
    }
  }

  // --- notifications --------------------------------------------------------------------------

  async loadNotifications(): Promise<void> {
    try {
      const page = await this.rpc.listNotifications(50)
      this.update({ notifications: [...page.notifications], unreadNotifications: page.unreadCount })
    } catch (error) {
      this.notify(errorText(error))
    }
  }

  async markRead(notificationId: string): Promise<void> {
    const target = this.state.notifications.find((n) => n.id === notificationId)
    if (target === undefined || target.read) return
    try {
      await this.rpc.markRead(notificationId)
      this.update({
        notifications: this.state.notifications.map((n) => (n.id === notificationId ? { ...n, read: true } : n)),
        unreadNotifications: Math.max(0, this.state.unreadNotifications - 1)
      })
    } catch (error) {
      this.notify(errorText(error))
    }
  }

  async markAllRead(): Promise<void> {
    try {
      await this.session.call("/api/v1/notifications/read-all", ReadAllResult, { method: "POST" })
      this.update({ notifications: this.state.notifications.map((n) => ({ ...n, read: true })), unreadNotifications: 0 })
    } catch (error) {
      this.notify(errorText(error))
    }
  }
}
