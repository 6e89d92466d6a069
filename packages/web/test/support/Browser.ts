/**
 * Browser tests' plumbing: the web bundle built (when stale) before a server starts, Debian's
 * Chromium driven by playwright-core (no browser download; `PYLON_CHROMIUM` or /usr/bin/chromium,
 * installed by `scripts/web.sh chromium`), and the page steps every scenario shares.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { chromium } from "playwright-core"
import type { Browser, BrowserContext, Page } from "playwright-core"

const ROOT = NodePath.resolve(import.meta.dirname, "../../../..")
export const ARTIFACTS = NodePath.join(ROOT, "packages/web/test-results")

/** Builds packages/web/dist when its inputs changed (the gateway reads it at start). */
export const ensureBundle = Effect.sync(() => {
  execFileSync("bash", [NodePath.join(ROOT, "scripts/web.sh"), "ensure"], { stdio: ["ignore", "ignore", "inherit"] })
})

const chromiumPath = (): string => {
  const candidates = [process.env.PYLON_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]
  const found = candidates.find((c): c is string => c !== undefined && c !== "" && existsSync(c))
  if (found === undefined) throw new Error("Chromium not found: run `bash scripts/web.sh chromium` (apt-get install chromium) or set PYLON_CHROMIUM")
  return found
}

/** Chromium for the scope; closed (with every context) when it ends. */
export const launchBrowser = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: chromiumPath(),
      // Root in a container: no user namespaces for the sandbox. Small /dev/shm on CI machines.
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
    })
  ),
  (browser) => Effect.promise(() => browser.close())
)

/** Generous: the machine running the tests is small and shared. */
export const WAIT_MS = 30_000

/** A laptop-sized window, the default of every scenario. */
export const DESKTOP = { width: 1180, height: 760 } as const
/** A phone held upright (CSS pixels of a common 6.1" phone). */
export const PHONE = { width: 390, height: 844 } as const

export const newPage = async (
  browser: Browser,
  baseUrl: string,
  viewport: { readonly width: number; readonly height: number } = DESKTOP
): Promise<{ context: BrowserContext; page: Page }> => {
  const context = await browser.newContext({ baseURL: baseUrl, viewport })
  context.setDefaultTimeout(WAIT_MS)
  context.setDefaultNavigationTimeout(WAIT_MS)
  const page = await context.newPage()
  page.on("pageerror", (error) => console.error(`[page ${baseUrl}] ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error") console.error(`[page console ${baseUrl}] ${message.text()}`)
  })
  return { context, page }
}

export interface Person {
  readonly username: string
  readonly email: string
  readonly password: string
}

export const person = (name: string): Person => {
  const username = `${name}_${Math.random().toString(36).slice(2, 8)}`
  return { username, email: `${username}@example.com`, password: "correct horse battery" }
}

/** Registers through the page and waits until the live connection is up. */
export const registerThroughPage = async (page: Page, who: Person): Promise<void> => {
  await page.goto("/")
  await page.getByRole("button", { name: "New here? Create an account" }).click()
  await page.getByLabel("Username").fill(who.username)
  await page.getByLabel("Email").fill(who.email)
  await page.getByLabel("Password").fill(who.password)
  await page.getByRole("button", { name: "Create account" }).click()
  await connected(page)
}

export interface SentRequest {
  readonly method: string
  readonly path: string
  readonly contentType: string | undefined
}

/** Every request the page sends to its server from now on (path without the query). */
export const recordRequests = (page: Page): ReadonlyArray<SentRequest> => {
  const sent: Array<SentRequest> = []
  page.on("request", (request) => {
    const url = new URL(request.url())
    sent.push({ method: request.method(), path: url.pathname, contentType: request.headers()["content-type"] })
  })
  return sent
}

export const connected = (page: Page) => page.getByRole("status", { name: "Connection: Connected" }).waitFor()

export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const file = NodePath.join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path: file })
  return file
}
