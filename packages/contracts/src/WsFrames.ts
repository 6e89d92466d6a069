/**
 * The WebSocket protocol of `GET /ws` (API.md §6): client and server frames as unions
 * discriminated on `type`, the error codes, and the two edge functions the gateway needs —
 * `decodeClientFrame` (raw text → frame or a ready-to-send error) and `encodeServerFrame`.
 */
import { Effect, Option, Result, Schema } from "effect"
import { ClientMsgId, MessageId, RoomId, UserId } from "./Ids.ts"
import { ClientMsgType, Message, MessageContent, MsgType, Sender } from "./Messages.ts"
import { Notification } from "./Notifications.ts"
import { PresenceStatus } from "./Presence.ts"
import { Natural, Seq } from "./Numbers.ts"
import { schemaErrorMessage } from "./SchemaErrorMessage.ts"
import { Timestamp } from "./Time.ts"

export const WsErrorCode = Schema.Literals([
  "BAD_REQUEST",
  "INVALID_JSON",
  "UNKNOWN_TYPE",
  "UNSUPPORTED_MESSAGE_TYPE",
  "NOT_JOINED",
  "FORBIDDEN",
  "NOT_FOUND",
  "RATE_LIMITED",
  "UNAVAILABLE",
  "INTERNAL"
])
export type WsErrorCode = typeof WsErrorCode.Type

/** Close codes the server uses (API.md §6). */
export const WsCloseCode = {
  /** Server draining: reconnect elsewhere. */
  GoingAway: 1001,
  /** Policy: token expired or revoked, limits exceeded. */
  PolicyViolation: 1008,
  /** Frame larger than `MAX_FRAME_BYTES`. */
  MessageTooBig: 1009,
  /** The client could not keep up; it reconnects and resumes with `since_seq`. */
  SlowConsumer: 4008
} as const

/** The largest client frame every Pylon WebSocket server accepts (`maxPayload`); larger closes with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024

// ---------------------------------------------------------------------------------------------
// Client → server

export const JoinFrame = Schema.Struct({
  type: Schema.Literal("join"),
  room_id: RoomId,
  /** Replay every message with `seq > since_seq` before live ones. */
  since_seq: Schema.optionalKey(Natural)
})
export type JoinFrame = typeof JoinFrame.Type

export const LeaveFrame = Schema.Struct({
  type: Schema.Literal("leave"),
  room_id: RoomId
})
export type LeaveFrame = typeof LeaveFrame.Type

/** `{"type":"message"}` from a client: content trimmed, 1–10,000 chars; `msg_type` default text. */
export const SendFrame = Schema.Struct({
  type: Schema.Literal("message"),
  room_id: RoomId,
  content: MessageContent,
  msg_type: ClientMsgType.pipe(Schema.withDecodingDefaultKey(Effect.succeed("text" as const))),
  client_msg_id: Schema.optionalKey(ClientMsgId)
})
export type SendFrame = typeof SendFrame.Type

export const TypingFrame = Schema.Struct({
  type: Schema.Literal("typing"),
  room_id: RoomId
})
export type TypingFrame = typeof TypingFrame.Type

export const PingFrame = Schema.Struct({ type: Schema.Literal("ping") })
export type PingFrame = typeof PingFrame.Type

export const ClientFrame = Schema.Union([JoinFrame, LeaveFrame, SendFrame, TypingFrame, PingFrame]).pipe(
  Schema.toTaggedUnion("type")
)
export type ClientFrame = typeof ClientFrame.Type

// ---------------------------------------------------------------------------------------------
// Server → client

/** A message delivered to room subscribers (the `Message` entity, flattened, `id` → `message_id`). */
export const MessageFrame = Schema.Struct({
  type: Schema.Literal("message"),
  message_id: MessageId,
  room_id: RoomId,
  seq: Seq,
  sender: Sender,
  content: Schema.String,
  msg_type: MsgType,
  client_msg_id: Schema.NullOr(ClientMsgId),
  created_at: Timestamp
})
export type MessageFrame = typeof MessageFrame.Type

/** Sent to the sender once the message is durable, before the `message` fan-out. */
export const AckFrame = Schema.Struct({
  type: Schema.Literal("ack"),
  client_msg_id: Schema.NullOr(ClientMsgId),
  message_id: MessageId,
  room_id: RoomId,
  seq: Seq,
  created_at: Timestamp
})
export type AckFrame = typeof AckFrame.Type

export const UserJoinedFrame = Schema.Struct({
  type: Schema.Literal("user_joined"),
  room_id: RoomId,
  user: Schema.Struct({ id: UserId, username: Schema.String }),
  /** Only on the joiner's own copy: the room's current last `seq`. */
  last_seq: Schema.optionalKey(Natural)
})
export type UserJoinedFrame = typeof UserJoinedFrame.Type

export const UserLeftFrame = Schema.Struct({
  type: Schema.Literal("user_left"),
  room_id: RoomId,
  user_id: UserId,
  /**
   * Only on the copy the server sends a connection it has unsubscribed itself (a `since_seq`
   * replay that could not finish): the last `seq` this connection was sent in the room. The client
   * rejoins with `since_seq` = this. A `user_left` naming the client's own user without it is
   * another of that user's connections leaving.
   */
  last_seq: Schema.optionalKey(Natural)
})
export type UserLeftFrame = typeof UserLeftFrame.Type

export const UserTypingFrame = Schema.Struct({
  type: Schema.Literal("typing"),
  room_id: RoomId,
  user_id: UserId,
  username: Schema.String
})
export type UserTypingFrame = typeof UserTypingFrame.Type

export const PresenceFrame = Schema.Struct({
  type: Schema.Literal("presence"),
  room_id: RoomId,
  user_id: UserId,
  status: PresenceStatus
})
export type PresenceFrame = typeof PresenceFrame.Type

export const NotificationFrame = Schema.Struct({
  type: Schema.Literal("notification"),
  notification: Notification
})
export type NotificationFrame = typeof NotificationFrame.Type

export const PongFrame = Schema.Struct({ type: Schema.Literal("pong") })
export type PongFrame = typeof PongFrame.Type

/** Never closes the socket; `ref` echoes the offending frame's `client_msg_id` when it had one. */
export const ErrorFrame = Schema.Struct({
  type: Schema.Literal("error"),
  code: WsErrorCode,
  message: Schema.String,
  ref: Schema.optionalKey(ClientMsgId)
})
export type ErrorFrame = typeof ErrorFrame.Type

export const ServerFrame = Schema.Union([
  MessageFrame,
  AckFrame,
  UserJoinedFrame,
  UserLeftFrame,
  UserTypingFrame,
  PresenceFrame,
  NotificationFrame,
  PongFrame,
  ErrorFrame
]).pipe(Schema.toTaggedUnion("type"))
export type ServerFrame = typeof ServerFrame.Type

/** The `message` frame for a stored message. */
export const messageFrame = (message: Message): MessageFrame => ({
  type: "message",
  message_id: message.id,
  room_id: message.room_id,
  seq: message.seq,
  sender: message.sender,
  content: message.content,
  msg_type: message.msg_type,
  client_msg_id: message.client_msg_id,
  created_at: message.created_at
})

/** The `ack` frame for a stored message. */
export const ackFrame = (message: Message): AckFrame => ({
  type: "ack",
  client_msg_id: message.client_msg_id,
  message_id: message.id,
  room_id: message.room_id,
  seq: message.seq,
  created_at: message.created_at
})

/** An `error` frame; `ref` is included only when given. */
export const errorFrame = (code: WsErrorCode, message: string, ref?: ClientMsgId): ErrorFrame =>
  ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref }

// ---------------------------------------------------------------------------------------------
// Edge codecs

/** Why a text frame was rejected, ready to send back as `frame`. */
export class ClientFrameError extends Schema.TaggedError<ClientFrameError>()("ClientFrameError", {
  code: WsErrorCode,
  message: Schema.String,
  ref: Schema.optionalKey(ClientMsgId)
}) {
  get frame(): ErrorFrame {
    return errorFrame(this.code, this.message, this.ref)
  }
}

const ClientFrameType = Schema.Struct({ type: Schema.Literals(ClientFrame.discriminants) })
const ClientFrameRef = Schema.Struct({ client_msg_id: ClientMsgId })

const decodeJson = Schema.decodeUnknownResult(Schema.fromJsonString(Schema.Unknown))
const decodeType = Schema.decodeUnknownResult(ClientFrameType)
const decodeRef = Schema.decodeUnknownOption(ClientFrameRef)
const decodeFrame = Schema.decodeUnknownResult(ClientFrame)

const decodeClientFrameResult = (raw: string): Result.Result<ClientFrame, ClientFrameError> => {
  const json = decodeJson(raw)
  if (Result.isFailure(json)) {
    return Result.fail(new ClientFrameError({ code: "INVALID_JSON", message: "frame is not valid JSON" }))
  }
  if (Result.isFailure(decodeType(json.success))) {
    return Result.fail(new ClientFrameError({ code: "UNKNOWN_TYPE", message: "unknown or missing frame type" }))
  }
  return Result.mapError(decodeFrame(json.success), (error) => {
    const message = schemaErrorMessage(error, "frame")
    return Option.match(decodeRef(json.success), {
      onNone: () => new ClientFrameError({ code: "BAD_REQUEST", message }),
      onSome: ({ client_msg_id }) => new ClientFrameError({ code: "BAD_REQUEST", message, ref: client_msg_id })
    })
  })
}

/**
 * Decodes one text frame. Fails with a `ClientFrameError` whose `code` is `INVALID_JSON` (not
 * JSON), `UNKNOWN_TYPE` (no object with a known `type`) or `BAD_REQUEST` (a known type with a
 * bad field: "room_id is required", "room_id: must be a UUID"; `ref` = the frame's
 * `client_msg_id` when that one is valid). `error.frame` is the `error` frame to send back.
 */
export const decodeClientFrame = (raw: string): Effect.Effect<ClientFrame, ClientFrameError> =>
  Effect.fromResult(decodeClientFrameResult(raw))

const encodeServerFrameJson = Schema.encodeSync(Schema.fromJsonString(ServerFrame))

/** Serialises a frame to JSON text. Throws (a defect) only if the frame violates its schema. */
export const encodeServerFrame = (frame: ServerFrame): string => encodeServerFrameJson(frame)
