/**
 * Memory of the server process under fuzz, measured from outside: the child is started with
 * `--inspect=127.0.0.1:<free port>` (loopback only, for this run), and a DevTools-protocol client forces a
 * full GC (`HeapProfiler.collectGarbage`) and reads the JS heap in use (`Runtime.getHeapUsage`);
 * resident memory comes from `/proc/<pid>/status`. Heap after a GC is the figure that must return
 * to its baseline; RSS is reported too (V8 and PGlite's WASM memory rarely give pages back, so it
 * only shows growth, not leaks).
 */
import { readFileSync } from "node:fs"
import WebSocket from "ws"
import type { MemoryProbe, MemorySample } from "../../packages/pylon/test/support/fuzz/Campaign.ts"
import { textOf } from "../../packages/pylon/test/support/fuzz/Transport.ts"

/** The DevTools WebSocket URL of the inspector on `port` (its `/json/list`), if it answers. */
export const inspectorUrlOn = async (port: number): Promise<string | undefined> => {
  try {
    const targets: unknown = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())
    const first: unknown = Array.isArray(targets) ? targets[0] : undefined
    return typeof first === "object" && first !== null && "webSocketDebuggerUrl" in first && typeof first.webSocketDebuggerUrl === "string"
      ? first.webSocketDebuggerUrl
      : undefined
  } catch {
    return undefined
  }
}

const rssBytesOf = (pid: number): number | undefined => {
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kib === undefined ? undefined : Number(kib) * 1024
  } catch {
    return undefined
  }
}

interface Pending {
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
}

/** A minimal DevTools-protocol session: `call(method)` → its `result`. */
const openSession = (url: string) =>
  new Promise<{ readonly call: (method: string) => Promise<unknown>; readonly close: () => void }>((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false })
    const pending = new Map<number, Pending>()
    let nextId = 1
    socket.on("message", (data) => {
      const message: unknown = JSON.parse(textOf(data))
      if (typeof message !== "object" || message === null || !("id" in message) || typeof message.id !== "number") return
      const waiter = pending.get(message.id)
      pending.delete(message.id)
      if ("error" in message) waiter?.reject(new Error(JSON.stringify(message.error)))
      else waiter?.resolve("result" in message ? message.result : undefined)
    })
    socket.once("error", reject)
    socket.once("open", () =>
      resolve({
        call: (method) =>
          new Promise((resolveCall, rejectCall) => {
            const id = nextId++
            pending.set(id, { resolve: resolveCall, reject: rejectCall })
            socket.send(JSON.stringify({ id, method }))
          }),
        close: () => socket.close()
      })
    )
  })

const usedSizeOf = (result: unknown): number | undefined =>
  typeof result === "object" && result !== null && "usedSize" in result && typeof result.usedSize === "number" ? result.usedSize : undefined

/** A probe for the process `pid` whose inspector listens at `inspectorUrl` (RSS only when there is none). */
export const serverHeapProbe = (pid: number, inspectorUrl: string | undefined): MemoryProbe => ({
  sample: async (label): Promise<MemorySample> => {
    let heapUsedBytes: number | undefined
    if (inspectorUrl !== undefined) {
      const session = await openSession(inspectorUrl)
      try {
        await session.call("HeapProfiler.collectGarbage")
        await new Promise((resolve) => setTimeout(resolve, 100))
        await session.call("HeapProfiler.collectGarbage")
        heapUsedBytes = usedSizeOf(await session.call("Runtime.getHeapUsage"))
      } finally {
        session.close()
      }
    }
    return { label, heapUsedBytes, rssBytes: rssBytesOf(pid) }
  }
})
