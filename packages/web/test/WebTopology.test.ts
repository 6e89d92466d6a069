/**
 * The web client in real Chromium against the microservice topology: room, chat and presence
 * services and two gateways as separate processes on the real PostgreSQL, Redis and Kafka; alice's
 * page is served by gateway A, bob's by gateway B, so every live step crosses gateways.
 * (Notifications are covered on `pylon dev`: this stack runs no notification service.)
 */
import { layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Topology, TopologyStack } from "@pylon/pylon/test-support/TopologyStack"
import { ensureBundle, launchBrowser } from "./support/Browser.ts"
import { twoPeopleChat } from "./support/Scenario.ts"

const Stack = Layer.unwrap(Effect.as(ensureBundle, TopologyStack()))

// Generous: a fresh database, five processes (each given 180 s to become ready) and a bundle build
// on a small shared machine.
layer(Stack, { excludeTestServices: true, timeout: "300 seconds" })("web client on two gateways", (it) => {
  it.effect("two people on different gateways chat: presence, typing, reload, offline resume without gaps or duplicates", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gateways: [a, b] } = yield* Topology
      const browser = yield* launchBrowser
      yield* Effect.promise(() => twoPeopleChat(browser, a.baseUrl, b.baseUrl, { notifications: false, screenshot: "topology-chat" }))
    })), { timeout: 240_000 })
})
