/**
 * One system call per socket per turn of the event loop, however many frames it gets in that
 * turn. The first frame written to a socket in a turn corks it; every socket corked in the turn
 * is uncorked together once the turn's synchronous work is done (`process.nextTick`: after the
 * fan-out of every message that arrived with it), so Node hands all of that socket's frames to
 * the kernel in one `writev` instead of one `writev` per frame.
 *
 * Order is the order of the writes (a cork only holds them; frames `ws` writes itself, pings and
 * close frames, queue behind them in the same cork). The bytes held count in the stream's
 * `writableLength`, which the outbound queue's high-water check reads (`OutboundBuffer`), so a
 * batch is bounded like any write; a slow socket's batch goes to the kernel like any other and
 * only its own buffer grows.
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

  /** Writes `bytes` after everything written before; it reaches the kernel at the end of this tick. */
  write(bytes: Buffer): void {
    if (!this.holding) {
      this.holding = true
      this.stream.cork()
      corked.push(this)
      if (!scheduled) {
        scheduled = true
        process.nextTick(releaseAll)
      }
    }
    this.stream.write(bytes)
  }

  /** Hands what this tick wrote to the stream (called at the end of the tick). */
  release(): void {
    if (!this.holding) return
    this.holding = false
    this.stream.uncork()
  }
}
