/**
 * A tiny TCP forwarder on 127.0.0.1 (an ephemeral port) in front of a real server, so a test can
 * make that server unreachable for one client without stopping the shared infrastructure.
 *
 * `block()` destroys every open connection and then refuses new ones (`"refuse"`: accepted and
 * reset at once, like a dead host's RST) or holds them without forwarding a byte (`"hang"`: a
 * network partition, the client only notices through its own timeouts); `unblock()` destroys the
 * held ones and forwards again.
 *
 * Kafka caveat: kafkajs uses its configured brokers only for the first metadata request and then
 * dials the addresses the cluster advertises (127.0.0.1:9092 here), which bypasses a proxy given
 * as a seed broker. Route *every* kafkajs connection through the proxy with `kafkaSocketFactory`.
 */
import { Effect, Schema } from "effect"
import type { Scope } from "effect"
import type { ISocketFactory } from "kafkajs"
import * as Net from "node:net"

export class TcpProxyError extends Schema.TaggedError<TcpProxyError>()("TcpProxyError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export type BlockMode = "refuse" | "hang"

export interface TcpProxy {
  readonly host: string
  readonly port: number
  /** Drops every open connection, then refuses (or holds) new ones until `unblock`. */
  readonly block: (mode?: BlockMode) => Effect.Effect<void>
  readonly unblock: Effect.Effect<void>
  /** Connections accepted since start (forwarded, refused or held). */
  readonly accepted: Effect.Effect<number>
  /** Connections currently forwarded. */
  readonly open: Effect.Effect<number>
}

/** Starts a forwarder to `targetHost:targetPort`; it is closed (all sockets destroyed) with the scope. */
export const startTcpProxy = (
  targetHost: string,
  targetPort: number
): Effect.Effect<TcpProxy, TcpProxyError, Scope.Scope> =>
  Effect.gen(function*() {
    let blocked: BlockMode | undefined
    let accepted = 0
    const forwarded = new Set<Net.Socket>()
    const held = new Set<Net.Socket>()

    const forward = (client: Net.Socket) => {
      const upstream = Net.connect({ host: targetHost, port: targetPort })
      forwarded.add(client)
      forwarded.add(upstream)
      const close = () => {
        client.destroy()
        upstream.destroy()
        forwarded.delete(client)
        forwarded.delete(upstream)
      }
      client.on("error", close).on("close", close)
      upstream.on("error", close).on("close", close)
      client.pipe(upstream)
      upstream.pipe(client)
    }

    const server = Net.createServer((client) => {
      accepted++
      client.setNoDelay(true)
      if (blocked === "refuse") {
        client.resetAndDestroy()
      } else if (blocked === "hang") {
        held.add(client)
        client.on("error", () => held.delete(client)).on("close", () => held.delete(client))
      } else {
        forward(client)
      }
    })

    const port = yield* Effect.acquireRelease(
      Effect.callback<number, TcpProxyError>((resume) => {
        server.once("error", (cause) => resume(Effect.fail(new TcpProxyError({ message: "cannot listen", cause }))))
        server.listen({ host: "127.0.0.1", port: 0 }, () => {
          const address = server.address()
          resume(
            address !== null && typeof address === "object"
              ? Effect.succeed(address.port)
              : Effect.fail(new TcpProxyError({ message: `unexpected address ${String(address)}`, cause: address }))
          )
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          for (const socket of [...forwarded, ...held]) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )

    const dropAll = (sockets: Set<Net.Socket>) => {
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    }

    return {
      host: "127.0.0.1",
      port,
      block: (mode: BlockMode = "refuse") =>
        Effect.sync(() => {
          blocked = mode
          dropAll(forwarded)
        }),
      unblock: Effect.sync(() => {
        blocked = undefined
        dropAll(held)
      }),
      accepted: Effect.sync(() => accepted),
      open: Effect.sync(() => forwarded.size / 2)
    }
  })

/**
 * A kafkajs `socketFactory` that dials the proxy whatever broker address kafkajs asks for (the
 * seed list and the advertised listeners alike), so `block()` really cuts the client off.
 * Only meaningful for a single-broker cluster.
 */
export const kafkaSocketFactory = (proxy: Pick<TcpProxy, "host" | "port">): ISocketFactory => ({ onConnect }) => {
  const socket = Net.connect({ host: proxy.host, port: proxy.port }, onConnect)
  socket.setKeepAlive(true, 60_000)
  return socket
}
