/**
 * Issue #12's "read history with infinite scroll upward", in the browser: a person sends more
 * messages than one history page holds (`HISTORY_PAGE` = 50 in `ChatClient.ts`), reloads (the room
 * opens with the newest page only), and scrolls up until the beginning of the room. Every message
 * is then shown once, in order, with no gap.
 */
import { expect } from "@effect/vitest"
import type { Browser } from "playwright-core"
import { connected, newPage, person, registerThroughPage, WAIT_MS } from "./Browser.ts"
import { messageShown } from "./Scenario.ts"

/** More than two pages of 50, so the scroll has to load twice. */
const MESSAGES = 120

const label = (n: number) => `message ${String(n).padStart(3, "0")}`

export const historyScrollsUp = async (browser: Browser, baseUrl: string): Promise<void> => {
  const { context, page } = await newPage(browser, baseUrl)
  try {
    await registerThroughPage(page, person("scroller"))
    const channel = `archive-${Math.random().toString(36).slice(2, 7)}`
    await page.getByRole("button", { name: "New room" }).click()
    await page.getByLabel("Room name").fill(channel)
    await page.getByRole("button", { name: "Create", exact: true }).click()
    await page.getByRole("heading", { name: `#${channel}` }).waitFor()

    const composer = page.getByLabel(`Message ${channel}`)
    for (let n = 1; n <= MESSAGES; n++) {
      await composer.fill(label(n))
      await composer.press("Enter")
    }
    await messageShown(page, label(MESSAGES)).waitFor()

    // After a reload the room shows only its newest page.
    await page.reload()
    await connected(page)
    await messageShown(page, label(MESSAGES)).waitFor()
    const shown = page.locator("li.message[data-seq]")
    const beginning = page.getByText("This is the beginning of the room.")
    expect(await shown.count()).toBeLessThan(MESSAGES)
    expect(await beginning.isVisible()).toBe(false)

    // Scroll to the top until the first message is there.
    const log = page.getByRole("log", { name: "Messages" })
    for (let attempt = 0; attempt < 20 && !(await beginning.isVisible()); attempt++) {
      const before = await shown.count()
      await log.evaluate((element: { scrollTop: number }) => {
        element.scrollTop = 0
      })
      // The page's CSP refuses evaluated strings (waitForFunction), so poll from here.
      const deadline = Date.now() + WAIT_MS
      while ((await shown.count()) <= before && !(await beginning.isVisible())) {
        if (Date.now() > deadline) throw new Error(`scrolling up loaded nothing more than ${before} messages`)
        await page.waitForTimeout(100)
      }
    }
    await beginning.waitFor()

    const seqs = await shown.evaluateAll((items: ReadonlyArray<{ getAttribute: (name: string) => string | null }>) =>
      items.map((item) => Number(item.getAttribute("data-seq")))
    )
    expect(seqs).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1))
    await messageShown(page, label(1)).waitFor()
  } finally {
    await context.close()
  }
}
