/**
 * Free TCP ports for the processes of a stack (test stacks, and metrics ports nobody chose):
 * binds `count` listeners on port 0 at once (so the ports are distinct), reads what the OS chose,
 * and closes them again.
 */
import { createServer } from "node:net"
import type { Server } from "node:net"
import { Effect } from "effect"

const listen = () =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const portOf = (server: Server): number => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("listener has no TCP address")
  return address.port
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

/** `count` distinct ports that were free a moment ago on 127.0.0.1. */
export const freePorts = (count: number): Effect.Effect<ReadonlyArray<number>> =>
  Effect.promise(async () => {
    const servers = await Promise.all(Array.from({ length: count }, listen))
    const ports = servers.map(portOf)
    await Promise.all(servers.map(closeServer))
    return ports
  })
