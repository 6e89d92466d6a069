/**
 * `GetMessagesPassThrough` (the page in its wire form, shape-checked only) and
 * `ChatRpcs.GetMessages` (full `MessagesResponse`) share one wire: what either side's server
 * writes, the other side's client reads, for arbitrary pages (docs/perf.md §8).
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import { ChatPageRpcs, ChatRpcs, ChatRpcsPassThrough, MessagesPage } from "../src/ChatRpcs.ts"
import { MessagesResponse } from "../src/Messages.ts"

const full = ChatRpcs.requests.get("GetMessages")
if (full === undefined) throw new Error("GetMessages is missing from ChatRpcs")

/**
 * What an RPC server writes for a successful call and a client reads: the exit in the RPC JSON
 * codec, as JSON text. Errors are the same schema object in both variants (checked below), so
 * only the success side differs.
 */
const exitCodec = <S extends Schema.Codec<unknown, unknown>>(success: S) =>
  Schema.toCodecJson(Schema.Exit(success, Schema.Never, Schema.Defect()))
const fullExit = exitCodec(MessagesResponse)
const passThroughExit = exitCodec(MessagesPage)

const writes = <A>(codec: Schema.Codec<Exit.Exit<A>, unknown>, value: A) =>
  Effect.map(Schema.encodeEffect(codec)(Exit.succeed(value)), (encoded) => JSON.stringify(encoded))
const reads = <A>(codec: Schema.Codec<Exit.Exit<A>, unknown>, wire: string) =>
  Effect.flatMap(Schema.decodeUnknownEffect(codec)(JSON.parse(wire)), (exit) =>
    Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.die(new Error("the exit is not a success")))

const encodePage = Schema.encodeEffect(MessagesResponse)
const samePage = Schema.toEquivalence(MessagesResponse)
const pages = Arbitrary.schema(MessagesResponse)

const property = (f: (page: MessagesResponse) => Effect.Effect<boolean, Schema.SchemaError>) =>
  Effect.gen(function*() {
    const result = yield* Arbitrary.checkEffect(pages, f, { runs: 100 })
    expect(Arbitrary.formatCheckFailure(result)).toBeUndefined()
  })

describe("GetMessages: the pass-through variant and the full one share a wire", () => {
  it.effect("both servers write the same bytes for the same page", () =>
    property((page) =>
      Effect.gen(function*() {
        const encoded = yield* encodePage(page)
        return (yield* writes(fullExit, page)) === (yield* writes(passThroughExit, encoded))
      })
    ))

  it.effect("a full server's page reaches a pass-through client as the page's wire form", () =>
    property((page) =>
      Effect.gen(function*() {
        const received = yield* reads(passThroughExit, yield* writes(fullExit, page))
        return JSON.stringify(received) === JSON.stringify(yield* encodePage(page))
      })
    ))

  it.effect("a pass-through server's page decodes in a full client to the same page", () =>
    property((page) =>
      Effect.gen(function*() {
        const wire = yield* writes(passThroughExit, yield* encodePage(page))
        const received = yield* reads(fullExit, wire)
        return Schema.is(MessagesResponse)(received) && samePage(received, page)
      })
    ))

  it("the variants differ from ChatRpcs in GetMessages' success only", () => {
    for (const group of [ChatRpcsPassThrough, ChatPageRpcs]) {
      const rpc = group.requests.get("GetMessages")
      expect(rpc?.successSchema).toBe(MessagesPage)
      expect(full.successSchema).toBe(MessagesResponse)
      expect(rpc?.payloadSchema).toBe(full.payloadSchema)
      expect(rpc?.errorSchema).toBe(full.errorSchema)
      expect([...(rpc?.middlewares ?? [])]).toEqual([...full.middlewares])
    }
    expect([...ChatRpcsPassThrough.requests.keys()].sort()).toEqual([...ChatRpcs.requests.keys()].sort())
    for (const tag of ["SendMessage", "StreamMessages"]) {
      expect(ChatRpcsPassThrough.requests.get(tag)).toBe(ChatRpcs.requests.get(tag))
    }
  })

  it("the pass-through client still checks the page's shape", () => {
    const accepts = Schema.is(MessagesPage)
    expect(accepts({ messages: [], has_more: false })).toBe(true)
    expect(accepts({ messages: [{}], has_more: true })).toBe(true)
    expect(accepts({ messages: [], has_more: "no" })).toBe(false)
    expect(accepts({ messages: {}, has_more: false })).toBe(false)
    expect(accepts({ messages: [null], has_more: false })).toBe(false)
    expect(accepts({ messages: [[]], has_more: false })).toBe(false)
    expect(accepts({ messages: ["m"], has_more: false })).toBe(false)
    expect(accepts({ has_more: false })).toBe(false)
  })
})
