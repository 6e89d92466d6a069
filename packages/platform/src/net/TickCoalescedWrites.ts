/**
 * One system call per socket per turn of the event loop, however many writes it gets in that
 * turn. The first write to a stream in a turn corks it; every stream corked in the turn is
 * uncorked together once the turn's synchronous work is done (one `process.nextTick`), so Node
 * hands all of that stream's chunks to the kernel in one `writev` instead of one per write.
 *
 * Two ways in:
 * - `CoalescingWriter`, for writes we make ourselves (the gateway's fan-out: a socket's frames of
 *   one turn, after every message that arrived with it has been fanned out);
 * - `coalesceWritesPerTick`, for a stream a library writes to (a `ws` WebSocket writes its own
 *   frames): e.g. the internal RPC replies of one group-committed send batch, whose handlers all
 *   resume in the same turn.
 *
 * Order is the order of the writes (a cork only holds them; a nested cork/uncork by the writer,
 * as `ws` does around a frame, is released with ours). The bytes held count in the stream's
 * `writableLength`, so a batch is bounded like any write.
 */
import type { Writable } from "node:stream"

/** What the coalescing needs of a stream: a `net.Socket`, or any `Writable`. */
export type CorkableStream = Pick<Writable, "cork" | "uncork" | "write">

const corked: Array<CoalescingWriter> = []
let scheduled = false

const releaseAll = () => {
  scheduled = false
  // A write during the release corks its stream again, for the next tick.
  for (const writer of corked.splice(0)) writer.release()
}

export class CoalescingWriter {
  private readonly stream: CorkableStream
  private holding = false

  constructor(stream: CorkableStream) {
    this.stream = stream
  }

  /** Corks the stream until the end of this tick (once per tick). */
  hold(): void {
    if (this.holding) return
    this.holding = true
    this.stream.cork()
    corked.push(this)
    if (!scheduled) {
      scheduled = true
      process.nextTick(releaseAll)
    }
  }

  /** Writes `bytes` after everything written before; it reaches the kernel at the end of this tick. */
  write(bytes: Buffer): void {
    this.hold()
    this.stream.write(bytes)
  }

  /** Hands what this tick wrote to the stream (called at the end of the tick). */
  release(): void {
    if (!this.holding) return
    this.holding = false
    this.stream.uncork()
  }
}

type WriteArgs = Parameters<Writable["write"]>

/** Makes every write to `stream`, whoever makes it, coalesce per tick (see the module comment). */
export const coalesceWritesPerTick = (stream: Writable): void => {
  const write = stream.write.bind(stream)
  const writer = new CoalescingWriter(stream)
  // Node's `write` is overloaded (with or without an encoding); the arguments pass through as given.
  stream.write = function(this: void, ...args: WriteArgs): boolean {
    if (!stream.destroyed) writer.hold()
    return Reflect.apply(write, undefined, args)
  } as Writable["write"]
}
