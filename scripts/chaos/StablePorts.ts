/**
 * Ports for the chaos stack's services, chosen below the kernel's ephemeral range: a service that
 * is killed and restarted must get its port back, and an ephemeral port left free for a few
 * seconds can be taken meanwhile by any outgoing connection or any other test's port-0 listener
 * (a restarted service then fails to bind while someone else answers its `/ready`).
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { Effect, Schema } from "effect"

export class StablePortsError extends Schema.TaggedError<StablePortsError>()("StablePortsError", { message: Schema.String }) {}

const ephemeralLow = (): number => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 2_000 ? low : 32_768
  } catch {
    return 32_768
  }
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** `count` consecutive free ports in [low / 2, low - count), starting at a random offset. */
export const stablePorts = (count: number) =>
  Effect.tryPromise({
    try: async () => {
      const high = ephemeralLow() - count
      const low = Math.floor(high / 2)
      for (let attempt = 0; attempt < 50; attempt++) {
        const base = low + Math.floor(Math.random() * (high - low))
        const ports = Array.from({ length: count }, (_, i) => base + i)
        const free = await Promise.all(ports.map(canBind))
        if (free.every(Boolean)) return ports
      }
      throw new Error(`no ${count} consecutive free ports below ${high}`)
    },
    catch: (cause) => new StablePortsError({ message: String(cause) })
  })
