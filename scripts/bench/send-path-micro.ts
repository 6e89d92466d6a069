/**
 * `node scripts/bench/send-path-micro.ts [sends] [concurrency] [rooms]` (with the infrastructure's
 * env sourced, as `npm run bench` does): what one send costs the chat service and PostgreSQL,
 * without the gateway. Starts the benchmark stack on a fresh database, registers two users, makes
 * `rooms` group rooms of both, then calls the chat service's `SendMessage` over its internal RPC
 * WebSocket (as a gateway does) `sends` times with `concurrency` calls in flight, spread over the
 * rooms. Prints sends/s, call latency percentiles and the CPU per send of the chat process, the
 * benchmark database's backends and this generator (issue #10, docs/perf.md §10). Add
 * `NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR"` for profiles (the stack inherits it).
 */
import { ConfigProvider, Effect, Schema } from "effect"
import { ChatClient } from "../../packages/api-gateway/src/clients/ServiceClients.ts"
import { ChatRpcs } from "../../packages/contracts/src/ChatRpcs.ts"
import { RoomId, UserId } from "../../packages/contracts/src/Ids.ts"
import { rpcClientLayer } from "../../packages/platform/src/rpc/InternalRpc.ts"
import { benchDatabase } from "./BenchDatabase.ts"
import { startBenchStack } from "./BenchStack.ts"
import { LatencyHistogram } from "./LatencyHistogram.ts"
import { coresBetween, POSTGRES, GENERATOR, snapshotCpu } from "./ProcessStats.ts"
import { createGroupRoom, registerUsers } from "./PylonRest.ts"
import { runMain } from "./RunMain.ts"

const [sendsArg, concurrencyArg, roomsArg] = process.argv.slice(2)
const sends = Number(sendsArg ?? 4000)
const concurrency = Number(concurrencyArg ?? 16)
const roomCount = Number(roomsArg ?? 20)

const program = Effect.gen(function*() {
  const database = yield* benchDatabase
  const stack = yield* startBenchStack(database, "micro", { notifications: false })
  const gateway = stack.gateways[0]
  const chat = stack.services.find((service) => service.name === "chat")
  if (gateway === undefined || chat === undefined) return yield* Effect.die(new Error("stack without gateway or chat service"))
  const [owner, member] = yield* registerUsers(gateway.baseUrl, stack.clientAddress, `micro${Date.now().toString(36)}`, 2)
  if (owner === undefined || member === undefined) return yield* Effect.die(new Error("no users"))
  const rooms = yield* Effect.forEach(
    Array.from({ length: roomCount }, (_, r) => r),
    (r) => createGroupRoom(gateway.baseUrl, owner, `micro-${r}`, [member])
  )
  const decodeRoom = Schema.decodeUnknownSync(RoomId)
  const roomIds = rooms.map((id) => decodeRoom(id))
  const userId = Schema.decodeUnknownSync(UserId)(owner.id)

  const measure = Effect.gen(function*() {
  const client = yield* ChatClient
  let histogram = new LatencyHistogram()
  const send = (i: number) => {
    const started = performance.now()
    return client.SendMessage({
      user_id: userId,
      room_id: roomIds[i % roomIds.length] ?? roomIds[0]!,
      content: `micro message ${i} ${"x".repeat(40)}`,
      msg_type: "text",
      client_msg_id: null
    }).pipe(Effect.tap(() => Effect.sync(() => histogram.record(performance.now() - started))))
  }
  // Warm-up: JIT, pools, the RPC socket.
  yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), send, { concurrency, discard: true })
  histogram = new LatencyHistogram()

  const measured = [{ name: chat.name, pid: chat.pid }]
  const before = snapshotCpu(measured, database.name)
  yield* Effect.forEach(Array.from({ length: sends }, (_, i) => i), send, { concurrency, discard: true })
  const after = snapshotCpu(measured, database.name)
  const seconds = (after.atMs - before.atMs) / 1000
  const cores = coresBetween(before, after)
  const perSend = (name: string) => Math.round(((cores[name] ?? 0) * seconds * 1e6) / sends)
  const summary = histogram.summary()
  yield* Effect.logInfo(
    `${sends} sends, concurrency ${concurrency}, ${roomCount} rooms: ${Math.round(sends / seconds)} sends/s; ` +
      `call p50 ${summary.p50Ms.toFixed(1)} ms p99 ${summary.p99Ms.toFixed(1)} ms; CPU per send: ` +
      `chat ${perSend(chat.name)} µs, postgres ${perSend(POSTGRES)} µs, generator ${perSend(GENERATOR)} µs`
  )
  })
  yield* measure.pipe(
    Effect.provide(rpcClientLayer(ChatClient, ChatRpcs, chat.baseUrl, "websocket")),
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ INTERNAL_RPC_SECRET: stack.internalSecret }))
  )
}).pipe(Effect.scoped)

runMain(program)
