/**
 * Creates the run's users and rooms over REST (API.md §3–§4) before any fault: users
 * registered through gateway 1; one direct room, group rooms of growing size (3, 4, 6, 8
 * members) and one channel that every user joins with `POST /rooms/{id}/join`; and the
 * devices (two per user, three for every third user), alternating their preferred gateway.
 */
import { Effect, Schema } from "effect"
import { registerUsers } from "../bench/PylonRest.ts"
import type { ChaosLog } from "./ChaosLog.ts"
import type { Random } from "./Random.ts"
import { Device } from "./Workload.ts"
import type { Phase, WorkloadRoom, WorkloadSettings, WorkloadUser } from "./Workload.ts"

export class SetupError extends Schema.TaggedError<SetupError>()("SetupError", { message: Schema.String }) {}

const RoomCreated = Schema.Struct({ success: Schema.Literal(true), data: Schema.Struct({ room: Schema.Struct({ id: Schema.String }) }) })

const call = (url: string, token: string, body: unknown) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body)
      })
      const json: unknown = await response.json()
      return { status: response.status, json }
    },
    catch: (cause) => new SetupError({ message: `POST ${url}: ${String(cause)}` })
  }).pipe(
    Effect.flatMap((r) => r.status < 300 ? Effect.succeed(r.json) : Effect.fail(new SetupError({ message: `POST ${url} → ${r.status} ${JSON.stringify(r.json)}` })))
  )

const createRoom = (gateway: string, owner: WorkloadUser, type: WorkloadRoom["type"], members: ReadonlyArray<WorkloadUser>) =>
  call(`${gateway}/api/v1/rooms`, owner.token, {
    name: `chaos ${type} ${members.length + 1}`,
    type,
    member_ids: members.map((m) => m.id)
  }).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(RoomCreated)),
    Effect.mapError((error) => new SetupError({ message: `create ${type} room: ${error.message}` })),
    Effect.map((r) => r.data.room.id)
  )

const GROUP_SIZES = [3, 4, 6, 8]

export const setupWorkload = (options: {
  readonly gateways: ReadonlyArray<string>
  readonly users: number
  readonly runId: string
  readonly log: ChaosLog
  readonly random: Random
  readonly settings: WorkloadSettings
  readonly phase: () => Phase
}) =>
  Effect.gen(function*() {
    const gateway = options.gateways[0] ?? ""
    const users: ReadonlyArray<WorkloadUser> = yield* registerUsers(gateway, "127.0.0.1", `c${options.runId}`, options.users)
    const rooms: Array<WorkloadRoom> = []
    const at = (i: number) => users[i % users.length] ?? users[0]
    const [first, second] = users
    if (first === undefined || second === undefined) return yield* new SetupError({ message: "need at least two users" })
    rooms.push({ id: yield* createRoom(gateway, first, "direct", [second]), type: "direct", members: [first, second] })
    for (const [n, size] of GROUP_SIZES.entries()) {
      const members = Array.from({ length: Math.min(size, users.length) }, (_, i) => at(n * 3 + i)).filter((u) => u !== undefined)
      const [owner, ...rest] = members
      if (owner === undefined) continue
      rooms.push({ id: yield* createRoom(gateway, owner, "group", rest), type: "group", members })
    }
    const channel = yield* createRoom(gateway, first, "channel", [])
    yield* Effect.forEach(users.slice(1), (user) => call(`${gateway}/api/v1/rooms/${channel}/join`, user.token, {}), { concurrency: 4 })
    rooms.push({ id: channel, type: "channel", members: users })

    const devices: Array<Device> = []
    for (const [u, user] of users.entries()) {
      const count = u % 3 === 2 ? 3 : 2
      const roomIds = rooms.filter((r) => r.members.some((m) => m.id === user.id)).map((r) => r.id)
      for (let d = 0; d < count; d++) {
        const preferred = (u + d) % options.gateways.length
        devices.push(
          new Device({
            name: `u${u}d${d}`,
            user,
            rooms: roomIds,
            gateways: [...options.gateways.slice(preferred), ...options.gateways.slice(0, preferred)],
            log: options.log,
            random: options.random,
            settings: options.settings,
            phase: options.phase
          })
        )
      }
    }
    return { users, rooms, devices }
  })
