/**
 * The bounded outbound queue of one WebSocket. Frames are written synchronously while the socket's
 * own buffer is below its high-water mark (no fiber hop per frame: this is the fan-out hot path;
 * with nothing waiting a frame does not pass through the queue at all); above it they wait here,
 * in order, flushed on a short timer. When `capacity` frames are waiting the reader is too slow:
 * `offer` refuses and the session closes the socket with 4008.
 */
import type { OutgoingFrame } from "./OutgoingFrame.ts"
import type { SessionSocket } from "./SessionSocket.ts"

/** What the buffer needs of the socket. */
export type FrameWriter = Pick<SessionSocket, "isOpen" | "bufferedAmount" | "write">

const RETRY_MS = 5

export class OutboundBuffer {
  private readonly socket: FrameWriter
  private readonly capacity: number
  private readonly highWaterBytes: number
  private items: Array<OutgoingFrame | undefined> = []
  private head = 0
  private timer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(socket: FrameWriter, capacity: number, highWaterBytes: number) {
    this.socket = socket
    this.capacity = capacity
    this.highWaterBytes = highWaterBytes
  }

  /** Frames waiting for the socket. */
  get size(): number {
    return this.items.length - this.head
  }

  get isFull(): boolean {
    return this.size >= this.capacity
  }

  /** Writes a frame, or queues it behind the ones waiting; false when the queue is full. */
  offer(frame: OutgoingFrame): boolean {
    const socket = this.socket
    if (this.size === 0 && socket.isOpen && socket.bufferedAmount <= this.highWaterBytes) {
      socket.write(frame)
      return true
    }
    if (this.isFull) return false
    this.items.push(frame)
    this.flush()
    return true
  }

  /** Stops the retry timer and drops what is left (the socket is closing). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.items = []
    this.head = 0
  }

  private flush(): void {
    const socket = this.socket
    while (this.size > 0 && socket.isOpen && socket.bufferedAmount <= this.highWaterBytes) {
      const frame = this.items[this.head]
      this.items[this.head] = undefined
      this.head++
      if (frame !== undefined) socket.write(frame)
    }
    if (this.head > 0 && (this.size === 0 || this.head >= this.capacity)) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (this.size > 0 && socket.isOpen && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, RETRY_MS)
    }
  }
}
