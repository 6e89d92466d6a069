/**
 * The two-person scenario every topology runs: alice on gateway A, bob on gateway B (the same
 * server in embedded mode), each in their own browser context. Every step waits on what the page
 * shows, with generous deadlines, never on fixed sleeps.
 */
import { expect } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { connected, newPage, person, recordRequests, registerThroughPage, screenshot, WAIT_MS } from "./Browser.ts"
import type { SentRequest } from "./Browser.ts"

const seqsShown = async (page: Page): Promise<Array<number>> => {
  const items = await page.locator(".messages li.message[data-seq]").all()
  return Promise.all(items.map(async (item) => Number(await item.getAttribute("data-seq"))))
}

/** How long a mention may take to light up the bell. */
const NOTIFICATION_WAIT_MS = 90_000

/** The confirmed (acked: it has a seq) message whose text contains `text`. */
export const messageShown = (page: Page, text: string) => page.locator("li.message[data-seq] .content", { hasText: text }).first()

/** Polls `read` until `check` passes (or the deadline fails the test with the last value). */
const eventually = async <A>(read: () => Promise<A>, check: (a: A) => boolean, what: string): Promise<A> => {
  const deadline = Date.now() + WAIT_MS
  let last = await read()
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    last = await read()
  }
  return last
}

/** What the page may still ask over REST: Connect has no RPC for channel discovery or "mark all read". */
const REST_ONLY = new Set(["/api/v1/channels", "/api/v1/notifications/read-all"])

/** Auth, rooms, history, members, the presence snapshot and notifications went over Connect (binary), nothing else over REST. */
const expectConnectCalls = (sent: ReadonlyArray<SentRequest>, methods: ReadonlyArray<string>): void => {
  const connect = sent.filter((r) => r.path.startsWith("/pylon."))
  for (const method of methods) expect(connect.map((r) => r.path)).toContain(`/${method}`)
  for (const r of connect) expect([r.method, r.contentType]).toEqual(["POST", "application/proto"])
  expect(sent.filter((r) => r.path.startsWith("/api/") && !REST_ONLY.has(r.path)).map((r) => r.path)).toEqual([])
}

export interface ScenarioOptions {
  /** The notification service runs (it does in `pylon dev` and in the test topology). */
  readonly notifications: boolean
  /** Name of the screenshot kept in packages/web/test-results/. */
  readonly screenshot: string
}

export const twoPeopleChat = async (browser: Browser, baseA: string, baseB: string, options: ScenarioOptions): Promise<void> => {
  const alice = person("alice")
  const bob = person("bob")
  const a = await newPage(browser, baseA)
  const b = await newPage(browser, baseB)
  const sentA = recordRequests(a.page)
  const sentB = recordRequests(b.page)
  await registerThroughPage(a.page, alice)
  await registerThroughPage(b.page, bob)

  // alice creates a channel; bob finds it and joins.
  const channel = `general-${Math.random().toString(36).slice(2, 7)}`
  await a.page.getByRole("button", { name: "New room" }).click()
  await a.page.getByLabel("Room name").fill(channel)
  await a.page.getByRole("button", { name: "Create", exact: true }).click()
  await a.page.getByRole("heading", { name: `#${channel}` }).waitFor()
  await b.page.getByRole("button", { name: "Browse channels" }).click()
  await b.page.getByLabel("Search channels").fill(channel)
  await b.page.getByRole("button", { name: `Join #${channel}` }).click()
  await b.page.getByRole("heading", { name: `#${channel}` }).waitFor()

  // Presence: alice sees bob, who just joined, online among the members.
  await a.page.locator("#members-panel li[data-presence=online]", { hasText: bob.username }).waitFor()

  // Typing, then Enter sends; bob sees it live (through the other gateway).
  const composerA = a.page.getByLabel(`Message ${channel}`)
  const composerB = b.page.getByLabel(`Message ${channel}`)
  await composerA.pressSequentially("hello b")
  await b.page.getByText(`${alice.username} is typing…`).waitFor()
  await composerA.pressSequentially("ob")
  await composerA.press("Enter")
  await messageShown(b.page, "hello bob").waitFor()
  expect(await composerA.inputValue()).toBe("")

  // Shift+Enter is a new line, Enter sends both lines as one message.
  await composerB.fill("line one")
  await composerB.press("Shift+Enter")
  await composerB.pressSequentially("line two")
  await composerB.press("Enter")
  const multiLine = messageShown(a.page, "line two")
  await multiLine.waitFor()
  expect(await multiLine.textContent()).toBe("line one\nline two")

  // A reload keeps the session and the open room.
  await b.page.reload()
  await connected(b.page)
  await b.page.getByRole("heading", { name: `#${channel}` }).waitFor()
  await messageShown(b.page, "hello bob").waitFor()

  // Offline: the state is visible; alice keeps talking; bob's own send waits as pending.
  await b.context.setOffline(true)
  await b.page.getByRole("status", { name: /^Connection: Offline/ }).waitFor()
  for (const n of [1, 2, 3]) {
    await composerA.fill(`while you were away ${n}`)
    await composerA.press("Enter")
  }
  await messageShown(a.page, "while you were away 3").waitFor()
  await composerB.fill("sent from the tunnel")
  await composerB.press("Enter")
  await b.page.locator("li.message.pending", { hasText: "sent from the tunnel" }).waitFor()

  // Online again: resumed with since_seq, nothing missing, nothing twice, the pending send delivered once.
  await b.context.setOffline(false)
  await connected(b.page)
  await messageShown(b.page, "while you were away 3").waitFor()
  await messageShown(a.page, "sent from the tunnel").waitFor()
  await b.page.locator("li.message.pending").waitFor({ state: "detached" })
  const aliceSeqs = await eventually(() => seqsShown(a.page), (s) => s.length === 6, "alice's messages")
  const bobSeqs = await eventually(() => seqsShown(b.page), (s) => s.length === 6, "bob's messages")
  expect(bobSeqs).toEqual(aliceSeqs)
  expect(aliceSeqs).toEqual([1, 2, 3, 4, 5, 6])
  expect(await b.page.locator("li.message .content", { hasText: "sent from the tunnel" }).count()).toBe(1)

  if (options.notifications) {
    // A mention in a channel notifies bob: badge, list, mark it read.
    await composerA.fill(`@${bob.username} are you there?`)
    await composerA.press("Enter")
    const bell = b.page.getByRole("button", { name: "Notifications, 1 unread" })
    // Longer than the other steps: in the topology it crosses the outbox relay, Kafka and the
    // notification service's consumer, which may still be joining its group.
    await bell.waitFor({ timeout: NOTIFICATION_WAIT_MS })
    await bell.click()
    const panel = b.page.getByRole("region", { name: "Notifications" })
    await panel.getByText("are you there?").first().waitFor()
    await panel.getByRole("button", { name: /^Mark ".*" read$/ }).click()
    await b.page.getByRole("button", { name: "Notifications, 0 unread" }).waitFor()
    // Another mention; this time "Mark all read".
    await composerA.fill(`@${bob.username} still there?`)
    await composerA.press("Enter")
    await bell.waitFor({ timeout: NOTIFICATION_WAIT_MS })
    await panel.getByText("still there?").first().waitFor()
    await panel.getByRole("button", { name: "Mark all read" }).click()
    await b.page.getByRole("button", { name: "Notifications, 0 unread" }).waitFor()
  }

  expectConnectCalls(sentA, [
    "pylon.auth.v1.AuthService/Register",
    "pylon.room.v1.RoomService/ListRooms",
    "pylon.room.v1.RoomService/CreateRoom",
    "pylon.room.v1.RoomService/GetRoomMembers",
    "pylon.chat.v1.ChatService/GetMessages",
    "pylon.presence.v1.PresenceService/GetRoomPresence",
    "pylon.notification.v1.NotificationService/GetNotifications"
  ])
  expectConnectCalls(sentB, [
    "pylon.auth.v1.AuthService/Register",
    "pylon.room.v1.RoomService/JoinRoom",
    "pylon.chat.v1.ChatService/GetMessages",
    "pylon.notification.v1.NotificationService/GetNotifications",
    ...(options.notifications ? ["pylon.notification.v1.NotificationService/MarkAsRead"] : [])
  ])

  await screenshot(a.page, options.screenshot)
  await Promise.all([a.context.close(), b.context.close()])
}
