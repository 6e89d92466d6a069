/**
 * The web client in real Chromium against the microservice topology: room, chat, presence and
 * notification services and two gateways as separate processes on the real PostgreSQL, Redis and
 * Kafka; alice's page is served by gateway A, bob's by gateway B, so every live step crosses
 * gateways. That includes the notification: alice's mention (sent through A) reaches the
 * notification service through Kafka, and bob's bell and list on B show it live, then mark it read.
 */
import { layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Topology, TopologyStack } from "@pylon/pylon/test-support/TopologyStack"
import { ensureBundle, launchBrowser } from "./support/Browser.ts"
import { twoPeopleChat } from "./support/Scenario.ts"

const Stack = Layer.unwrap(Effect.as(ensureBundle, TopologyStack()))

// Generous: a fresh database, six processes (each given 180 s to become ready) and a bundle build
// on a small shared machine.
layer(Stack, { excludeTestServices: true, timeout: "300 seconds" })("web client on two gateways", (it) => {
  it.effect("two people on different gateways chat: presence, typing, reload, offline resume without gaps or duplicates, notifications", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gateways: [a, b] } = yield* Topology
      const browser = yield* launchBrowser
      yield* Effect.promise(() => twoPeopleChat(browser, a.baseUrl, b.baseUrl, { notifications: true, screenshot: "topology-chat" }))
    })), { timeout: 240_000 })
})
