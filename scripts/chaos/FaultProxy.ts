/**
 * A TCP forwarder on 127.0.0.1 that the fault scheduler controls, placed between one gateway and
 * a dependency (the chat service, Redis): `delay(ms)` holds every chunk in both directions for
 * `ms` (order kept), `drop()` resets every open connection and refuses new ones, `blackhole()`
 * keeps connections open but forwards nothing (a partition the client only notices through its
 * own timeouts), `heal()` forwards normally again (black-holed connections are reset).
 */
import * as Net from "node:net"
import { Effect, Schema } from "effect"
import type { Scope } from "effect"

export class FaultProxyError extends Schema.TaggedError<FaultProxyError>()("FaultProxyError", {
  message: Schema.String
}) {}

type Mode =
  | { readonly tag: "pass" }
  | { readonly tag: "delay"; readonly ms: number }
  | { readonly tag: "drop" }
  | { readonly tag: "blackhole" }

export interface FaultProxy {
  readonly port: number
  readonly delay: (ms: number) => Effect.Effect<void>
  readonly drop: Effect.Effect<void>
  readonly blackhole: Effect.Effect<void>
  readonly heal: Effect.Effect<void>
}

interface Link {
  readonly client: Net.Socket
  readonly upstream: Net.Socket
}

/** One direction of a link: chunks leave in order, each no earlier than `arrival + delay`. */
const relay = (from: Net.Socket, to: Net.Socket, mode: () => Mode) => {
  let nextFreeAt = 0
  from.on("data", (chunk: Buffer) => {
    const current = mode()
    if (current.tag === "blackhole" || current.tag === "drop") return
    if (current.tag === "pass" && nextFreeAt <= Date.now()) {
      to.write(chunk)
      return
    }
    const delayMs = current.tag === "delay" ? current.ms : 0
    const at = Math.max(Date.now() + delayMs, nextFreeAt)
    nextFreeAt = at
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk)
    }, at - Date.now())
  })
}

export const startFaultProxy = (targetPort: number): Effect.Effect<FaultProxy, FaultProxyError, Scope.Scope> =>
  Effect.gen(function*() {
    let mode: Mode = { tag: "pass" }
    const links = new Set<Link>()
    const current = () => mode

    const server = Net.createServer((client) => {
      if (mode.tag === "drop") {
        client.resetAndDestroy()
        return
      }
      client.setNoDelay(true)
      const upstream = Net.connect({ host: "127.0.0.1", port: targetPort })
      upstream.setNoDelay(true)
      const link: Link = { client, upstream }
      links.add(link)
      const close = () => {
        client.destroy()
        upstream.destroy()
        links.delete(link)
      }
      client.on("error", close).on("close", close)
      upstream.on("error", close).on("close", close)
      relay(client, upstream, current)
      relay(upstream, client, current)
    })

    const resetAll = () => {
      for (const link of links) {
        link.client.resetAndDestroy()
        link.upstream.destroy()
      }
      links.clear()
    }

    const port = yield* Effect.acquireRelease(
      Effect.callback<number, FaultProxyError>((resume) => {
        server.once("error", (error) => resume(Effect.fail(new FaultProxyError({ message: error.message }))))
        server.listen({ host: "127.0.0.1", port: 0 }, () => {
          const address = server.address()
          resume(
            address !== null && typeof address === "object"
              ? Effect.succeed(address.port)
              : Effect.fail(new FaultProxyError({ message: "listener has no port" }))
          )
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          resetAll()
          server.close(() => resume(Effect.void))
        })
    )

    return {
      port,
      delay: (ms: number) => Effect.sync(() => { mode = { tag: "delay", ms } }),
      drop: Effect.sync(() => {
        mode = { tag: "drop" }
        resetAll()
      }),
      blackhole: Effect.sync(() => { mode = { tag: "blackhole" } }),
      heal: Effect.sync(() => {
        if (mode.tag === "blackhole") resetAll()
        mode = { tag: "pass" }
      })
    }
  })
