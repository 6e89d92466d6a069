/**
 * Micro-benchmark of the Schema work per history page of 50 (docs/perf.md §6 and §7), both
 * paths in one process: before (the chat service decodes 51 `MessageRow`s, builds 50 `Message`s
 * and encodes `MessagesResponse`; the gateway decodes it and encodes it again for HTTP) and
 * after (the chat service checks the page PostgreSQL built, `MessagesPage`; the gateway checks it
 * once and writes it). `node scripts/bench/history-page-micro.ts [iterations]`; prints µs per page.
 */
import { Schema } from "effect"
import { MessagesPage } from "../../packages/contracts/src/ChatRpcs.ts"
import { MessagesResponse } from "../../packages/contracts/src/Messages.ts"
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
const encodePage = Schema.encodeSync(Schema.toCodecJson(MessagesPage))
const decodePage = Schema.decodeUnknownSync(Schema.toCodecJson(MessagesPage))

const decodedRows = decodeRows(rows)
const fullPage = { messages: decodedRows.slice(0, 50).map(toMessage), has_more: true }
// What the RPC carries (and, after the change, what PostgreSQL builds): the page's wire JSON.
const wire: unknown = JSON.parse(JSON.stringify(encodeFull(fullPage)))

const measure = (name: string, f: () => unknown) => {
  for (let i = 0; i < Math.min(500, iterations); i++) f()
  const samples: Array<number> = []
  for (let batch = 0; batch < 10; batch++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations / 10; i++) f()
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / (iterations / 10))
  }
  samples.sort((a, b) => a - b)
  console.log(`${name.padEnd(58)} ${samples[5]!.toFixed(1).padStart(8)} µs (min ${samples[0]!.toFixed(1)})`)
}

console.log(`per page of 50, median of 10 batches of ${iterations / 10}; load ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`)
measure("before, chat: decode 51 MessageRow", () => decodeRows(rows))
measure("before, chat: 50 toMessage", () => decodedRows.slice(0, 50).map(toMessage))
measure("before, chat: encode MessagesResponse (RPC)", () => encodeFull(fullPage))
measure("before, gateway: decode MessagesResponse (RPC)", () => decodeFull(wire))
measure("before, gateway: encode MessagesResponse (HTTP)", () => encodeFull(fullPage))
measure("after, chat: check MessagesPage (row) + encode (RPC)", () => encodePage(decodePage(wire)))
measure("after, gateway: decode MessagesPage (RPC), no encode", () => decodePage(wire))
measure("both: JSON.stringify of the page", () => JSON.stringify(wire))
measure("both: JSON.parse(JSON.stringify(page))", () => JSON.parse(JSON.stringify(wire)))
