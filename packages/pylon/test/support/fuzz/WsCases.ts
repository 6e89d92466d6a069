/**
 * WebSocket fuzz cases for `GET /ws` (API.md §6): client frames derived from the contract's
 * `ClientFrame` Schema (aimed at the fuzz user's live rooms most of the time) and then mutated
 * like HTTP bodies, binary frames, frames over the 64 KiB limit, and upgrade handshakes with
 * every kind of credential, in the header or the query string.
 */
import fc from "fast-check"
import { ClientFrame, MAX_FRAME_BYTES } from "@pylon/contracts/WsFrames"
import { signedCredential } from "./HttpCases.ts"
import type { Credential } from "./HttpCases.ts"
import { mutateJson } from "./Mutations.ts"
import type { MutationOptions, Payload } from "./Mutations.ts"
import { ph, phNumber, ROOM_FIXTURES } from "./Placeholders.ts"
import { validJson } from "./SchemaSamples.ts"

export type WsCase =
  | {
    readonly kind: "frame"
    readonly payload: Payload
    /** Sent as a binary frame (the server answers UNSUPPORTED_MESSAGE_TYPE). */
    readonly binary: boolean
  }
  | {
    readonly kind: "upgrade"
    readonly credential: Credential
    readonly via: "header" | "token" | "access_token"
    /** Extra query string after the credential. */
    readonly extraQuery: string
  }

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value } : {}

/**
 * Valid frames; a `room_id` is one of the fuzz user's fixtures three times in four (so joins,
 * sends and typing really run), and a `since_seq` on those is sometimes "a few below the room's
 * last seq" so replays stay short.
 */
const validFrame: fc.Arbitrary<unknown> = fc.tuple(
  validJson(ClientFrame),
  fc.constantFrom(...ROOM_FIXTURES),
  fc.nat({ max: 3 }),
  fc.boolean()
).map(([frame, room, roll, recent]) => {
  const record = asRecord(frame)
  if (!("room_id" in record) || roll === 0) return record
  const aimed: Record<string, unknown> = { ...record, room_id: ph(room) }
  if ("since_seq" in record && recent) aimed.since_seq = phNumber(`recentSeq${room}`)
  return aimed
})

export interface WsCaseOptions extends MutationOptions {
  /** Frames over `MAX_FRAME_BYTES` per ~1,000 cases (each one costs a reconnect). */
  readonly oversizedWeight: number
  /** Upgrade handshakes per ~1,000 cases. */
  readonly upgradeWeight: number
}

const frameCase = (options: WsCaseOptions): fc.Arbitrary<WsCase> =>
  fc.tuple(mutateJson(validFrame, options), fc.nat({ max: 9 })).map(([payload, roll]): WsCase => ({
    kind: "frame",
    payload,
    binary: payload.mutation === "random-bytes" ? roll < 5 : roll === 0 && payload.mutation === "valid"
  }))

const oversizedCase: fc.Arbitrary<WsCase> = fc.integer({ min: MAX_FRAME_BYTES + 1, max: MAX_FRAME_BYTES + 4096 }).map((size): WsCase => ({
  kind: "frame",
  payload: { mutation: "over-64KiB", data: `{"type":"message","room_id":"${ph("ownRoom")}","content":"${"x".repeat(size)}"}` },
  binary: false
}))

const upgradeCredential: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Credential>({ kind: "valid" }) },
  { weight: 2, arbitrary: fc.constant<Credential>({ kind: "none" }) },
  { weight: 1, arbitrary: fc.constant<Credential>({ kind: "other-user" }) },
  { weight: 2, arbitrary: signedCredential },
  {
    weight: 2,
    arbitrary: fc.string({ unit: "binary-ascii", maxLength: 200 })
      .map((junk): Credential => ({ kind: "raw", header: `Bearer ${junk.replace(/[^\x21-\x7e]/g, "")}`, label: "bearer-garbage" }))
  }
)

const upgradeCase: fc.Arbitrary<WsCase> = fc.record({
  credential: upgradeCredential,
  via: fc.constantFrom("header" as const, "token" as const, "access_token" as const),
  extraQuery: fc.constantFrom("", "&token=", "&token=a&token=b", "&%ZZ", "&access_token=%00", "&x=" + "y".repeat(2000))
}).map((c): WsCase => ({ kind: "upgrade", ...c }))

/** One WebSocket case: mostly frames on the open connection, some oversized, some handshakes. */
export const wsCase = (options: WsCaseOptions): fc.Arbitrary<WsCase> =>
  fc.oneof(
    { weight: 1000, arbitrary: frameCase(options) },
    { weight: options.oversizedWeight, arbitrary: oversizedCase },
    { weight: options.upgradeWeight, arbitrary: upgradeCase }
  )

/** Labels for the report ("frame:wrong-type:room_id", "upgrade:token:claims:expired"…). */
export const wsCaseLabel = (c: WsCase): string =>
  c.kind === "frame"
    ? `frame${c.binary ? "(binary)" : ""}:${c.payload.mutation}`
    : `upgrade:${c.via}:${c.credential.kind === "signed" || c.credential.kind === "raw" ? c.credential.label : c.credential.kind}`
