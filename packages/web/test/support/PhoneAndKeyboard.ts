/**
 * Issue #12's "accessible (labels, keyboard navigation, focus) and usable on a phone-width
 * screen", in the browser: one person on a phone-sized window registers, then uses the keyboard
 * only to open the new-room dialog (focus moves into it; Escape closes it and gives focus back),
 * create a channel, send a message with Enter, and go back to the room list. On the phone the
 * list and the room take turns, and no view scrolls sideways.
 */
import { expect } from "@effect/vitest"
import type { Browser, Locator, Page } from "playwright-core"
import { newPage, person, PHONE, registerThroughPage, screenshot } from "./Browser.ts"
import { messageShown } from "./Scenario.ts"

// Page-side code is typed structurally or written as text: the tests are compiled without the DOM's types.
const isFocused = (target: Locator): Promise<boolean> =>
  target.evaluate((element: { readonly ownerDocument: { readonly activeElement: unknown } }) =>
    element === element.ownerDocument.activeElement
  )

/** Presses Tab until `target` has the focus; fails when `presses` Tabs never reach it. */
const tabTo = async (page: Page, target: Locator, what: string, presses = 60): Promise<void> => {
  for (let i = 0; i < presses; i++) {
    if (await isFocused(target)) return
    await page.keyboard.press("Tab")
  }
  throw new Error(`${presses} presses of Tab never reached ${what}`)
}

/** Whether the page is wider than the window (a phone user would have to scroll sideways). */
const scrollsSideways = async (page: Page): Promise<boolean> =>
  (await page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")) === true

export const phoneAndKeyboard = async (browser: Browser, baseUrl: string, screenshotName: string): Promise<void> => {
  const { context, page } = await newPage(browser, baseUrl, PHONE)
  try {
    await registerThroughPage(page, person("phone"))
    const rooms = page.getByRole("navigation", { name: "Rooms" })
    expect(await rooms.isVisible()).toBe(true)
    expect(await scrollsSideways(page)).toBe(false)

    // The dialog takes the focus, Escape closes it, and the focus returns to its button.
    const newRoom = page.getByRole("button", { name: "New room" })
    await tabTo(page, newRoom, "the New room button")
    await page.keyboard.press("Enter")
    const roomName = page.getByLabel("Room name")
    await roomName.waitFor()
    expect(await isFocused(roomName)).toBe(true)
    await page.keyboard.press("Escape")
    await roomName.waitFor({ state: "hidden" })
    expect(await isFocused(newRoom)).toBe(true)

    // Create a channel from the keyboard: Enter submits the form.
    const channel = `pocket-${Math.random().toString(36).slice(2, 7)}`
    await page.keyboard.press("Enter")
    await roomName.waitFor()
    await page.keyboard.type(channel)
    await page.keyboard.press("Enter")
    const heading = page.getByRole("heading", { name: `#${channel}` })
    await heading.waitFor()
    await page.getByText("channel · 1 member", { exact: true }).waitFor()

    // On a phone the room replaces the list.
    expect(await rooms.isVisible()).toBe(false)
    expect(await scrollsSideways(page)).toBe(false)

    // Tab to the composer, type, Enter sends; the ack confirms it.
    const composer = page.getByLabel(`Message ${channel}`)
    await tabTo(page, composer, "the message composer")
    await page.keyboard.type("sent from a phone, keyboard only")
    await page.keyboard.press("Enter")
    await messageShown(page, "sent from a phone, keyboard only").waitFor()
    expect(await composer.inputValue()).toBe("")
    expect(await scrollsSideways(page)).toBe(false)
    await screenshot(page, screenshotName)

    // Back to the list, by keyboard.
    const back = page.getByRole("button", { name: "Back to rooms" })
    expect(await back.isVisible()).toBe(true)
    await tabTo(page, back, "the Back to rooms button")
    await page.keyboard.press("Enter")
    await rooms.waitFor()
    expect(await heading.isVisible()).toBe(false)
    expect(await page.getByRole("link", { name: new RegExp(`^${channel}, channel`) }).isVisible()).toBe(true)
    expect(await scrollsSideways(page)).toBe(false)
  } finally {
    await context.close()
  }
}
