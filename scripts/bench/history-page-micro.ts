/**
 * Micro-benchmark of the serialisation work per history page of 50, three generations in one
 * process: before §8 (the chat service decodes 51 `MessageRow`s, builds 50 `Message`s and encodes
 * `MessagesResponse`; the gateway decodes it and encodes it again for HTTP); §8 (the driver parses
 * the page PostgreSQL built as `json`, the chat service checks its shape and the RPC serialises
 * it; the gateway parses and checks it and serialises it for HTTP); §11 (the page stays JSON text:
 * the RPC frame carries it as a string, the gateway puts it in the envelope).
 * `node scripts/bench/history-page-micro.ts [iterations]`; prints µs per page (docs/perf.md §8, §11).
 */
import { Schema } from "effect"
import { Message, MessagesResponse } from "../../packages/contracts/src/Messages.ts"
import { MessageRow, toMessage } from "../../packages/chat-service/src/MessageRow.ts"

const iterations = Number(process.argv[2] ?? "2000")
const uuid = (n: number) => `0190b3a2-${String(n % 10000).padStart(4, "0")}-7111-8111-${String(n).padStart(12, "0")}`

const rows = Array.from({ length: 51 }, (_, i) => ({
  id: uuid(i + 1000),
  room_id: uuid(1),
  seq: BigInt(200 - i),
  sender_id: uuid(2 + (i % 3)),
  username: `user_${i % 3}`,
  display_name: i % 2 === 0 ? `User ${i % 3}` : null,
  avatar_url: null,
  content: `message number ${i} with some ordinary text in it, about sixty characters`,
  msg_type: "text",
  client_msg_id: i % 4 === 0 ? `client-${i}` : null,
  created_at: new Date(Date.UTC(2026, 11, 2, 16, 0, i, 123))
}))

const decodeRows = Schema.decodeUnknownSync(Schema.Array(MessageRow))
const jsonCodec = Schema.toCodecJson(MessagesResponse)
const encodeFull = Schema.encodeSync(jsonCodec)
const decodeFull = Schema.decodeUnknownSync(jsonCodec)
/** §8's `MessagesPage` (since removed): the envelope checked, each message only an object. */
const MessagesPage = Schema.Struct({
  ...MessagesResponse.fields,
  messages: Schema.Array(Schema.declare(
    (u: unknown): u is (typeof Message)["Encoded"] => typeof u === "object" && u !== null && !Array.isArray(u)
  ))
})
const encodePage = Schema.encodeSync(MessagesPage)
const decodePage = Schema.decodeUnknownSync(MessagesPage)

const decodedRows = decodeRows(rows)
const fullPage = { messages: decodedRows.slice(0, 50).map(toMessage), has_more: true }
// What the RPC carries (and, after the change, what PostgreSQL builds): the page's wire JSON.
const wire: unknown = JSON.parse(JSON.stringify(encodeFull(fullPage)))
const text = JSON.stringify(wire)
/** An RPC reply frame carrying the page: as an object (§8) and as text (§11). */
const frameOf = (value: unknown) => JSON.stringify({ _tag: "Exit", requestId: "1", exit: { _tag: "Success", value } })
/** What the RPC client does first with a reply: parse the frame and take the exit's value. */
const replyValue = (frame: string): unknown => {
  const reply: unknown = JSON.parse(frame)
  return typeof reply === "object" && reply !== null && "exit" in reply && typeof reply.exit === "object" &&
      reply.exit !== null && "value" in reply.exit
    ? reply.exit.value
    : undefined
}
const objectFrame = frameOf(wire)
const textFrame = frameOf(text)

const measure = (name: string, f: () => unknown) => {
  for (let i = 0; i < Math.min(500, iterations); i++) f()
  const samples: Array<number> = []
  for (let batch = 0; batch < 10; batch++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations / 10; i++) f()
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / (iterations / 10))
  }
  samples.sort((a, b) => a - b)
  console.log(`${name.padEnd(64)} ${samples[5]!.toFixed(1).padStart(8)} µs (min ${samples[0]!.toFixed(1)})`)
}

console.log(`per page of 50, median of 10 batches of ${iterations / 10}; load ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`)
measure("before, chat: decode 51 MessageRow", () => decodeRows(rows))
measure("before, chat: 50 toMessage", () => decodedRows.slice(0, 50).map(toMessage))
measure("before, chat: encode MessagesResponse (RPC)", () => encodeFull(fullPage))
measure("before, gateway: decode MessagesResponse (RPC)", () => decodeFull(wire))
measure("before, gateway: encode MessagesResponse (HTTP)", () => encodeFull(fullPage))
measure("§8, chat: driver parses json + check MessagesPage + RPC frame", () => frameOf(encodePage(decodePage(JSON.parse(text)))))
measure("§8, gateway: parse RPC frame + check + HTTP body", () =>
  JSON.stringify({ success: true, data: decodePage(replyValue(objectFrame)) }))
measure("§11, chat: RPC frame of the text", () => frameOf(text))
measure("§11, gateway: parse RPC frame + HTTP body", () => `{"success":true,"data":${String(replyValue(textFrame))}}`)
