/**
 * `pylon seed` / `npm run seed`: loads the demo users, rooms and conversations (SeedData.ts) into a
 * running Pylon through its public API, idempotently. Each item is looked up before it is made: a
 * user logs in (registered only when that fails), a room is found by name and type among its owner's
 * rooms, channel members join when missing, and a message is sent only when no message of the room
 * carries its `client_msg_id`. A second run therefore changes nothing and says so.
 */
import { Config, Effect, Option } from "effect"
import type { DemoRoom } from "./SeedData.ts"
import { clientMsgId, DEMO_PASSWORD, demoRooms, demoUsers } from "./SeedData.ts"
import type { SeedClient, SeedRoom, Session } from "./SeedClient.ts"
import { SeedError, seedClient } from "./SeedClient.ts"

export interface SeedReport {
  readonly baseUrl: string
  readonly users: { readonly created: number; readonly existing: number }
  readonly rooms: { readonly created: number; readonly existing: number }
  /** Channel members who had to join. */
  readonly joined: number
  readonly messages: { readonly sent: number; readonly existing: number }
}

export const changedAnything = (report: SeedReport) =>
  report.users.created + report.rooms.created + report.joined + report.messages.sent > 0

export const describeReport = (report: SeedReport): string =>
  changedAnything(report)
    ? `seeded ${report.baseUrl}: created ${report.users.created} users, ${report.rooms.created} rooms, ` +
      `${report.joined} channel memberships, ${report.messages.sent} messages ` +
      `(already there: ${report.users.existing} users, ${report.rooms.existing} rooms, ${report.messages.existing} messages); ` +
      `log in as ${demoUsers.map((u) => u.email).join(", ")} with password "${DEMO_PASSWORD}"`
    : `nothing to change at ${report.baseUrl}: the ${report.users.existing} demo users, ${report.rooms.existing} rooms ` +
      `and ${report.messages.existing} messages are already there`

const sessionOf = (sessions: ReadonlyMap<string, Session>, username: string) => {
  const session = sessions.get(username)
  return session === undefined
    ? Effect.fail(new SeedError({ step: "seed data", message: `unknown demo user ${username}` }))
    : Effect.succeed(session)
}

const ensureUsers = (api: SeedClient) =>
  Effect.gen(function*() {
    const sessions = new Map<string, Session>()
    let created = 0
    for (const user of demoUsers) {
      const existing = yield* api.login(user.email, DEMO_PASSWORD)
      if (Option.isSome(existing)) {
        sessions.set(user.username, existing.value)
      } else {
        sessions.set(user.username, yield* api.register(user.username, user.email, DEMO_PASSWORD))
        created++
      }
    }
    return { sessions, created }
  })

const ensureRoom = (api: SeedClient, sessions: ReadonlyMap<string, Session>, room: DemoRoom) =>
  Effect.gen(function*() {
    const owner = yield* sessionOf(sessions, room.owner)
    const members = yield* Effect.forEach(room.members, (name) => sessionOf(sessions, name))
    const found = (yield* api.rooms(owner)).find((r) => r.name === room.name && r.type === room.type)
    if (found !== undefined) {
      let joined = 0
      if (room.type === "channel") {
        const present = yield* api.members(owner, found)
        for (const member of members) {
          if (!present.has(member.id)) {
            yield* api.join(member, found)
            joined++
          }
        }
      }
      return { room: found, created: false, joined }
    }
    const made = yield* api.createRoom(owner, room.name, room.type, members.map((m) => m.id))
    return { room: made, created: true, joined: 0 }
  })

const ensureConversation = (api: SeedClient, sessions: ReadonlyMap<string, Session>, room: DemoRoom, made: SeedRoom) =>
  Effect.gen(function*() {
    const owner = yield* sessionOf(sessions, room.owner)
    const present = yield* api.clientMsgIds(owner, made)
    let sent = 0
    for (const [index, [sender, content]] of room.conversation.entries()) {
      const id = clientMsgId(room, index)
      if (present.has(id)) continue
      yield* api.sendMessage(yield* sessionOf(sessions, sender), made, content, id)
      sent++
    }
    return { sent, existing: room.conversation.length - sent }
  })

/** Seeds the Pylon whose gateway is at `baseUrl`. */
export const seed = (baseUrl: string) =>
  Effect.gen(function*() {
    const api = yield* seedClient(baseUrl)
    const users = yield* ensureUsers(api)
    let roomsCreated = 0
    let joined = 0
    let sent = 0
    let existingMessages = 0
    for (const room of demoRooms) {
      const ensured = yield* ensureRoom(api, users.sessions, room)
      if (ensured.created) roomsCreated++
      joined += ensured.joined
      const conversation = yield* ensureConversation(api, users.sessions, room, ensured.room)
      sent += conversation.sent
      existingMessages += conversation.existing
    }
    const report: SeedReport = {
      baseUrl,
      users: { created: users.created, existing: demoUsers.length - users.created },
      rooms: { created: roomsCreated, existing: demoRooms.length - roomsCreated },
      joined,
      messages: { sent, existing: existingMessages }
    }
    return report
  })

/** The gateway `pylon seed` talks to: its argument, else `PYLON_SEED_URL`, else the `pnpm dev` gateway. */
export const seedCommand = (argument: string | undefined) =>
  Effect.gen(function*() {
    const configured = yield* Config.String("PYLON_SEED_URL").pipe(Config.withDefault("http://127.0.0.1:8080"))
    const baseUrl = (argument ?? configured).replace(/\/+$/, "")
    const report = yield* seed(baseUrl)
    yield* Effect.logInfo(describeReport(report))
    return report
  })
