/**
 * The web client in real Chromium against `pylon dev` (the `npm start` process: PGlite and the
 * in-memory twins, the gateway serving the bundle at `/`).
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { devLayer } from "@pylon/pylon/DevMode"
import { ensureBundle, launchBrowser, newPage, person, registerThroughPage, screenshot } from "./support/Browser.ts"
import { historyScrollsUp } from "./support/HistoryScroll.ts"
import { phoneAndKeyboard } from "./support/PhoneAndKeyboard.ts"
import { twoPeopleChat } from "./support/Scenario.ts"

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/web/test/EmbeddedBaseUrl") {}

const Embedded = Layer.unwrap(Effect.gen(function*() {
  yield* ensureBundle
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-web-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  const config = ConfigProvider.fromUnknown({ APP_PORT: "0", METRICS_PORT: "0", APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir })
  return Layer.effect(BaseUrl, Effect.map(boundPort, (port) => `http://127.0.0.1:${port}`)).pipe(
    Layer.provide(devLayer),
    Layer.provide(ConfigProvider.layer(config)),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
}))

layer(Embedded, { excludeTestServices: true, timeout: "120 seconds" })("web client on pylon dev", (it) => {
  it.effect("the gateway serves the page; a person registers and is connected", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* BaseUrl
      const browser = yield* launchBrowser
      const { page } = yield* Effect.promise(() => newPage(browser, base))
      const response = yield* Effect.promise(() => page.goto("/"))
      expect(response?.headers()["cache-control"]).toBe("no-cache")
      yield* Effect.promise(() => registerThroughPage(page, person("alice")))
      yield* Effect.promise(() => screenshot(page, "embedded-signed-in"))
    })), { timeout: 120_000 })

  it.effect("two people chat: channel, presence, typing, Enter/Shift+Enter, reload, offline resume, notifications", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* BaseUrl
      const browser = yield* launchBrowser
      yield* Effect.promise(() => twoPeopleChat(browser, base, base, { notifications: true, screenshot: "embedded-chat" }))
    })), { timeout: 150_000 })

  it.effect("on a phone-width screen, keyboard only: dialog focus and Escape, create, send with Enter, back to the list", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* BaseUrl
      const browser = yield* launchBrowser
      yield* Effect.promise(() => phoneAndKeyboard(browser, base, "embedded-phone"))
    })), { timeout: 120_000 })

  it.effect("history scrolls up: 120 messages, a reload shows the newest page, scrolling up loads the rest in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* BaseUrl
      const browser = yield* launchBrowser
      yield* Effect.promise(() => historyScrollsUp(browser, base))
    })), { timeout: 150_000 })
})
