/**
 * `pylon dev`'s whole system in the test process (`devLayer`: PGlite in a temporary directory,
 * in-memory twins), listening on a free loopback port; `EmbeddedBaseUrl` is its gateway URL.
 * `settings` add to (and override) the process settings, e.g. rate-limit budgets.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { devLayer } from "../../src/DevMode.ts"

export class EmbeddedBaseUrl extends Context.Service<EmbeddedBaseUrl, string>()("pylon/pylon/test/EmbeddedBaseUrl") {}

export const embeddedGateway = (settings: Readonly<Record<string, string>> = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const dataDir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-embedded-"))),
      (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
    )
    const config = ConfigProvider.fromUnknown({ APP_PORT: "0", APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir, ...settings })
    return Layer.effect(EmbeddedBaseUrl, Effect.map(boundPort, (port) => `http://127.0.0.1:${port}`)).pipe(
      Layer.provide(devLayer),
      Layer.provide(ConfigProvider.layer(config)),
      Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
    )
  }))
