/**
 * One system call per socket per turn of the event loop for a socket whose writes we do not make
 * ourselves (a `ws` WebSocket writes its own frames). The first write of a turn corks the stream
 * and a `process.nextTick` uncorks it once the turn's synchronous work is done, so everything
 * written in between reaches the kernel in one `writev`: e.g. the internal RPC replies of one
 * group-committed send batch, whose handlers all resume in the same turn. Order is kept (a cork
 * only holds writes), and a nested cork/uncork by the writer (as `ws` does around a frame) is
 * released with ours.
 */
import type { Writable } from "node:stream"

type WriteArgs = Parameters<Writable["write"]>

/** Makes `stream` coalesce the writes of each event-loop turn (see the module comment). */
export const coalesceWritesPerTick = (stream: Writable): void => {
  const write = stream.write.bind(stream)
  let holding = false
  const release = () => {
    holding = false
    stream.uncork()
  }
  // Node's `write` is overloaded (with or without an encoding); the arguments pass through as given.
  stream.write = function(this: void, ...args: WriteArgs): boolean {
    if (!holding && !stream.destroyed) {
      holding = true
      stream.cork()
      process.nextTick(release)
    }
    return Reflect.apply(write, undefined, args)
  } as Writable["write"]
}
