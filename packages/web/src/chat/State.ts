/**
 * The client's view of the chat: plain immutable data the React views render, and the pure
 * functions that merge what arrives (history pages, replayed and live frames) without gaps or
 * duplicates: messages are keyed by their room `seq`.
 */
export type RoomType = "direct" | "group" | "channel"

export interface RoomView {
  readonly id: string
  readonly name: string
  readonly type: RoomType
  readonly createdBy: string
  readonly memberCount: number
  readonly lastSeq: number
  /** Epoch ms of the last message, else of the room's creation (orders the list). */
  readonly activityAt: number
}

export interface ChatMessage {
  readonly id: string
  readonly seq: number
  readonly senderId: string
  readonly senderName: string
  readonly content: string
  readonly clientMsgId: string | null
  readonly createdAt: number
}

export interface PendingMessage {
  readonly clientMsgId: string
  readonly content: string
  /** sending: not yet acknowledged; sent: durable (ack), waiting for its place in the room. */
  readonly status: "sending" | "sent" | "failed"
  readonly error: string | undefined
  readonly attempts: number
}

export interface MemberView {
  readonly userId: string
  readonly username: string
  readonly role: string
}

export interface RoomState {
  /** Ascending by seq, contiguous. */
  readonly messages: ReadonlyArray<ChatMessage>
  readonly historyLoaded: boolean
  readonly hasMore: boolean
  readonly loadingOlder: boolean
  readonly pending: ReadonlyArray<PendingMessage>
  /** user id → who is typing and until when (epoch ms). */
  readonly typing: Readonly<Record<string, { readonly username: string; readonly until: number }>>
  readonly members: ReadonlyArray<MemberView> | undefined
}

export const emptyRoomState: RoomState = {
  messages: [],
  historyLoaded: false,
  hasMore: false,
  loadingOlder: false,
  pending: [],
  typing: {},
  members: undefined
}

export interface NotificationView {
  readonly id: string
  readonly type: string
  readonly title: string
  readonly body: string
  readonly roomId: string
  readonly read: boolean
  readonly createdAt: number
}

export type ConnectionState =
  | { readonly status: "connecting" }
  | { readonly status: "online" }
  | { readonly status: "offline"; readonly retryAt: number | undefined }

export interface ChatState {
  readonly connection: ConnectionState
  readonly rooms: ReadonlyArray<RoomView>
  readonly roomsLoaded: boolean
  readonly roomState: Readonly<Record<string, RoomState>>
  readonly presence: Readonly<Record<string, "online" | "offline">>
  readonly notifications: ReadonlyArray<NotificationView>
  readonly unreadNotifications: number
  /** room id → the highest seq the person has seen. */
  readonly lastRead: Readonly<Record<string, number>>
  readonly notice: { readonly id: number; readonly text: string } | undefined
}

export const initialChatState: ChatState = {
  connection: { status: "connecting" },
  rooms: [],
  roomsLoaded: false,
  roomState: {},
  presence: {},
  notifications: [],
  unreadNotifications: 0,
  lastRead: {},
  notice: undefined
}

/**
 * Merges `incoming` into `existing` by seq (a later copy of the same seq wins nothing: the first
 * stays), keeping ascending order; then keeps only the contiguous run that ends at the newest
 * message, so an older page can always continue from the oldest one shown.
 */
export const mergeMessages = (
  existing: ReadonlyArray<ChatMessage>,
  incoming: ReadonlyArray<ChatMessage>
): ReadonlyArray<ChatMessage> => {
  if (incoming.length === 0) return existing
  const bySeq = new Map<number, ChatMessage>()
  for (const message of existing) bySeq.set(message.seq, message)
  let added = false
  for (const message of incoming) {
    if (!bySeq.has(message.seq)) {
      bySeq.set(message.seq, message)
      added = true
    }
  }
  if (!added) return existing
  const sorted = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  let start = sorted.length - 1
  while (start > 0 && sorted[start - 1]!.seq === sorted[start]!.seq - 1) start--
  return start === 0 ? sorted : sorted.slice(start)
}

/** The newest seq shown for a room (0 when none). */
export const highestSeq = (state: RoomState | undefined): number => {
  const last = state?.messages[state.messages.length - 1]
  return last === undefined ? 0 : last.seq
}

export const unreadCount = (room: RoomView, lastRead: number | undefined): number =>
  Math.max(0, room.lastSeq - (lastRead ?? 0))

/** Newest activity first. */
export const sortRooms = (rooms: ReadonlyArray<RoomView>): ReadonlyArray<RoomView> =>
  [...rooms].sort((a, b) => b.activityAt - a.activityAt || a.name.localeCompare(b.name))
