/**
 * The `.proto` files of the external Connect surface (proto/, API.md §9) must not drift from the
 * Effect Schemas here: every RPC of API.md §9 exists, enum values match the literal unions,
 * and each message carries exactly the fields of the schema it mirrors. The protos are read as
 * text with a small regex parser (no protobuf toolchain needed).
 */
import { describe, expect, it } from "@effect/vitest"
import { SchemaAST } from "effect"
import type { Schema } from "effect"
import { readFileSync } from "node:fs"
import {
  AuthResult,
  ChatRpcs,
  CreateRoomRequest,
  CreateRoomResult,
  LoginRequest,
  Member,
  MemberRole,
  Message,
  MessagesResponse,
  MsgType,
  Notification,
  NotificationRpcs,
  NotificationsResponse,
  NotificationType,
  PresenceFrame,
  PresenceRpcs,
  PresenceStatus,
  RegisterRequest,
  RefreshRequest,
  Room,
  RoomRpcs,
  RoomType,
  Sender,
  SendMessageResult,
  TokenPair,
  User,
  UserPresence,
  UserTypingFrame
} from "../src/index.ts"

interface ProtoFile {
  readonly services: ReadonlyMap<string, ReadonlyArray<string>>
  readonly enums: ReadonlyMap<string, ReadonlyArray<string>>
  readonly messages: ReadonlyMap<string, ReadonlyArray<string>>
}

/** The `{ … }` body that starts at `open` (the index of `{`), braces balanced. */
const blockBody = (text: string, open: number): string => {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++
    else if (text[i] === "}" && --depth === 0) return text.slice(open + 1, i)
  }
  throw new Error(`unbalanced braces at ${open}`)
}

const blocks = (text: string, keyword: string): Map<string, string> => {
  const found = new Map<string, string>()
  for (const match of text.matchAll(new RegExp(`^\\s*${keyword}\\s+(\\w+)\\s*\\{`, "gm"))) {
    const name = match[1] ?? ""
    found.set(name, blockBody(text, match.index + match[0].length - 1))
  }
  return found
}

const mapValues = <A, B>(map: ReadonlyMap<string, A>, f: (a: A) => B): Map<string, B> =>
  new Map(Array.from(map, ([key, value]) => [key, f(value)]))

const parseProto = (path: string): ProtoFile => {
  const text = readFileSync(new URL(`../../../proto/${path}`, import.meta.url), "utf8").replace(/\/\/.*$/gm, "")
  return {
    services: mapValues(blocks(text, "service"), (body) =>
      Array.from(body.matchAll(/\brpc\s+(\w+)\s*\(/g), (m) => m[1] ?? "")),
    enums: mapValues(blocks(text, "enum"), (body) => Array.from(body.matchAll(/\b(\w+)\s*=\s*\d+\s*;/g), (m) => m[1] ?? "")),
    messages: mapValues(blocks(text, "message"), (body) =>
      Array.from(body.matchAll(/^\s*(?:optional\s+|repeated\s+)?[\w.]+\s+(\w+)\s*=\s*\d+\s*;/gm), (m) => m[1] ?? ""))
  }
}

const protos = {
  auth: parseProto("pylon/auth/v1/auth.proto"),
  chat: parseProto("pylon/chat/v1/chat.proto"),
  room: parseProto("pylon/room/v1/room.proto"),
  presence: parseProto("pylon/presence/v1/presence.proto"),
  notification: parseProto("pylon/notification/v1/notification.proto")
}

/** The field names of a struct-like schema (a Struct, a Class, an RPC payload). */
const fieldsOf = (schema: Schema.Top): Array<string> => {
  const ast = SchemaAST.isDeclaration(schema.ast) ? schema.ast.typeParameters[0] : schema.ast
  if (ast === undefined || !SchemaAST.isObjects(ast)) throw new Error("not a struct schema")
  return ast.propertySignatures.map((ps) => String(ps.name))
}

const payloadFields = (group: { readonly requests: ReadonlyMap<string, { readonly payloadSchema: Schema.Top }> }, rpc: string) => {
  const request = group.requests.get(rpc)
  if (request === undefined) throw new Error(`no RPC ${rpc}`)
  return fieldsOf(request.payloadSchema)
}

const without = (fields: ReadonlyArray<string>, ...drop: ReadonlyArray<string>) => fields.filter((f) => !drop.includes(f))

const messageFields = (file: ProtoFile, name: string): ReadonlyArray<string> => {
  const fields = file.messages.get(name)
  if (fields === undefined) throw new Error(`no message ${name}`)
  return fields
}

const sorted = (names: ReadonlyArray<string>) => [...names].sort()

describe("proto/ mirrors the contracts", () => {
  it("declares exactly the services and RPCs of API.md §9", () => {
    const expected: ReadonlyArray<[ProtoFile, Record<string, ReadonlyArray<string>>]> = [
      [protos.chat, { ChatService: ["SendMessage", "StreamMessages", "GetMessages"] }],
      [protos.room, { RoomService: ["CreateRoom", "GetRoom", "ListRooms", "JoinRoom", "LeaveRoom", "GetRoomMembers"] }],
      [protos.presence, {
        PresenceService: ["SetOnline", "SetOffline", "SetTyping", "GetPresence", "GetRoomPresence", "StreamPresence"]
      }],
      [protos.notification, { NotificationService: ["SendNotification", "GetNotifications", "MarkAsRead"] }],
      [protos.auth, { AuthService: ["Register", "Login", "RefreshToken"] }]
    ]
    for (const [file, services] of expected) {
      expect(sorted(Array.from(file.services.keys()))).toEqual(sorted(Object.keys(services)))
      for (const [service, rpcs] of Object.entries(services)) {
        expect(sorted(file.services.get(service) ?? []), service).toEqual(sorted(rpcs))
      }
    }
  })

  it("has one enum value per contract literal, plus an UNSPECIFIED zero", () => {
    const cases: ReadonlyArray<[ProtoFile, string, ReadonlyArray<string>]> = [
      [protos.room, "RoomType", RoomType.literals],
      [protos.room, "MemberRole", MemberRole.literals],
      [protos.chat, "MsgType", MsgType.literals],
      [protos.notification, "NotificationType", NotificationType.literals],
      [protos.presence, "PresenceStatus", PresenceStatus.literals]
    ]
    for (const [file, name, literals] of cases) {
      const prefix = name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase()
      expect(file.enums.get(name), name).toEqual([
        `${prefix}_UNSPECIFIED`,
        ...literals.map((literal) => `${prefix}_${literal.toUpperCase()}`)
      ])
    }
  })

  it("gives each entity and response message exactly the contract's fields", () => {
    const cases: ReadonlyArray<[ProtoFile, string, ReadonlyArray<string>]> = [
      [protos.auth, "User", fieldsOf(User)],
      [protos.auth, "RegisterRequest", fieldsOf(RegisterRequest)],
      [protos.auth, "RegisterResponse", fieldsOf(AuthResult)],
      [protos.auth, "LoginRequest", fieldsOf(LoginRequest)],
      [protos.auth, "LoginResponse", fieldsOf(AuthResult)],
      [protos.auth, "RefreshTokenRequest", fieldsOf(RefreshRequest)],
      [protos.auth, "RefreshTokenResponse", fieldsOf(TokenPair)],
      [protos.room, "Room", fieldsOf(Room)],
      [protos.room, "Member", fieldsOf(Member)],
      [protos.room, "CreateRoomRequest", fieldsOf(CreateRoomRequest)],
      [protos.room, "CreateRoomResponse", fieldsOf(CreateRoomResult)],
      [protos.chat, "Sender", fieldsOf(Sender)],
      [protos.chat, "Message", fieldsOf(Message)],
      [protos.chat, "SendMessageResponse", fieldsOf(SendMessageResult)],
      [protos.chat, "GetMessagesResponse", fieldsOf(MessagesResponse)],
      [protos.notification, "Notification", fieldsOf(Notification)],
      [protos.notification, "GetNotificationsResponse", fieldsOf(NotificationsResponse)],
      [protos.presence, "UserPresence", fieldsOf(UserPresence)],
      [protos.presence, "PresenceChanged", without(fieldsOf(PresenceFrame), "type")],
      [protos.presence, "UserTyping", without(fieldsOf(UserTypingFrame), "type")]
    ]
    for (const [file, name, fields] of cases) {
      expect(sorted(messageFields(file, name)), name).toEqual(sorted(fields))
    }
  })

  it("gives each request the RPC payload's fields, less the caller's user_id", () => {
    const cases: ReadonlyArray<[ProtoFile, string, ReadonlyArray<string>]> = [
      [protos.chat, "SendMessageRequest", without(payloadFields(ChatRpcs, "SendMessage"), "user_id")],
      [protos.chat, "GetMessagesRequest", without(payloadFields(ChatRpcs, "GetMessages"), "user_id")],
      [protos.chat, "StreamMessagesRequest", without(payloadFields(ChatRpcs, "StreamMessages"), "user_id")],
      [protos.room, "CreateRoomRequest", without(payloadFields(RoomRpcs, "CreateRoom"), "user_id")],
      [protos.room, "GetRoomRequest", without(payloadFields(RoomRpcs, "GetRoom"), "user_id")],
      [protos.room, "ListRoomsRequest", without(payloadFields(RoomRpcs, "ListRooms"), "user_id")],
      [protos.room, "JoinRoomRequest", without(payloadFields(RoomRpcs, "JoinRoom"), "user_id")],
      [protos.room, "LeaveRoomRequest", without(payloadFields(RoomRpcs, "LeaveRoom"), "user_id")],
      [protos.room, "GetRoomMembersRequest", without(payloadFields(RoomRpcs, "GetRoomMembers"), "user_id")],
      [protos.presence, "SetOnlineRequest", without(payloadFields(PresenceRpcs, "SetOnline"), "user_id")],
      [protos.presence, "SetOfflineRequest", without(payloadFields(PresenceRpcs, "SetOffline"), "user_id")],
      [protos.presence, "SetTypingRequest", without(payloadFields(PresenceRpcs, "SetTyping"), "user_id")],
      [protos.presence, "GetPresenceRequest", without(payloadFields(PresenceRpcs, "GetPresence"), "user_id")],
      [protos.presence, "GetRoomPresenceRequest", without(payloadFields(PresenceRpcs, "GetRoomPresence"), "user_id")],
      // The recipient, not the caller: SendNotification keeps its `user_id`.
      [protos.notification, "SendNotificationRequest", payloadFields(NotificationRpcs, "SendNotification")],
      [protos.notification, "GetNotificationsRequest", without(payloadFields(NotificationRpcs, "GetNotifications"), "user_id")],
      [protos.notification, "MarkAsReadRequest", without(payloadFields(NotificationRpcs, "MarkAsRead"), "user_id")]
    ]
    for (const [file, name, fields] of cases) {
      expect(sorted(messageFields(file, name)), name).toEqual(sorted(fields))
    }
  })

  it("carries no user_id in requests except where the RPC targets another user", () => {
    for (const [pkg, file] of Object.entries(protos)) {
      for (const [name, fields] of file.messages) {
        if (name.endsWith("Request") && name !== "SendNotificationRequest") {
          expect(fields, `${pkg}.${name}`).not.toContain("user_id")
        }
      }
    }
  })
})
