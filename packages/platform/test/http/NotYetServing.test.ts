import { once } from "node:events"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { UpgradeRoutingServer } from "../../src/http/UpgradeInterceptor.ts"

// Effect's server listens before it attaches its request handler: a request in that gap is answered.
describe("a request before any handler is attached", () => {
  it("gets a 503 envelope with Retry-After; once a handler is attached it serves", async () => {
    const server = new UpgradeRoutingServer()
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`
      const early = await fetch(url, { signal: AbortSignal.timeout(20_000) })
      expect(early.status).toBe(503)
      expect(early.headers.get("retry-after")).toBe("1")
      expect(await early.json()).toEqual({
        success: false,
        error: { code: "service_unavailable", message: "the server is starting; retry shortly" }
      })

      server.on("request", (_request, response) => response.end("served"))
      const later = await fetch(url, { signal: AbortSignal.timeout(20_000) })
      expect([later.status, await later.text()]).toEqual([200, "served"])
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
