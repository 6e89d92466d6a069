/**
 * The Connect surface of `npm start`: a real `pylon dev` process (PGlite in a temporary data
 * directory, every service in that one process) on a free port, called over real sockets by a
 * client of the ORIGINAL protos (the frozen image, no Pylon field known;
 * support/OriginalConnectFlow.ts) in all four protocols (Connect JSON, Connect binary, gRPC-Web
 * over HTTP/1.1, gRPC over HTTP/2 cleartext): register, log in, create/list/join a room, send,
 * history, the mention notification (outbox → in-memory event bus → consumer) read and marked
 * read; StreamMessages and StreamPresence get what a WebSocket on the same process sends and
 * types, and a SendMessage reaches that WebSocket.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { connectProtocols } from "@pylon/testkit/ConnectProtocols"
import { freePorts } from "../src/FreePorts.ts"
import { startService } from "../src/ServiceProcess.ts"
import { GENEROUS_LIMITS } from "./support/GenerousLimits.ts"
import { originalStreamsFlow, originalUnaryFlow } from "./support/OriginalConnectFlow.ts"

/** A loaded 2-core box may take long to start the process (PGlite, migrations). */
const READY_TIMEOUT_MS = 180_000

class DevUrl extends Context.Service<DevUrl, string>()("pylon/pylon/test/ConnectDevUrl") {}

const PylonDev = Layer.effect(
  DevUrl,
  Effect.gen(function*() {
    const dataDir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-dev-connect-"))),
      (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
    )
    const [port] = yield* freePorts(1)
    if (port === undefined) return yield* Effect.die(new Error("could not find a free port"))
    const dev = yield* startService(
      { name: "pylon-dev", command: "dev", port, env: { ...GENEROUS_LIMITS, APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir } },
      { quiet: process.env.PYLON_TEST_LOGS === undefined, readyTimeoutMs: READY_TIMEOUT_MS }
    ).pipe(Effect.orDie)
    return dev.baseUrl
  })
)

layer(PylonDev, { excludeTestServices: true, timeout: "240 seconds" })("Connect on npm start (pylon dev)", (it) => {
  for (const [protocol, transport] of connectProtocols) {
    it.effect(`${protocol}: register, log in, rooms, send, history, notifications, mark read`, () =>
      Effect.gen(function*() {
        yield* originalUnaryFlow(transport(yield* DevUrl), protocol)
      }), { timeout: 120_000 })

    it.effect(`${protocol}: streams get messages and typing from a WebSocket; SendMessage reaches it`, () =>
      Effect.gen(function*() {
        const baseUrl = yield* DevUrl
        yield* originalStreamsFlow({ wsBaseUrl: baseUrl, streamTransport: transport(baseUrl) })
      }), { timeout: 90_000 })
  }
})
