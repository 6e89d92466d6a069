/**
 * Inbound flow control of one WebSocket, in bytes: counts the frames received and not yet
 * answered (queued or being handled), stops reading the socket when they reach `limitBytes` and
 * reads again once they are down to half of it. A client that writes faster than its frames are
 * handled is slowed by TCP backpressure instead of being buffered without bound or disconnected.
 *
 * The count can pass the limit by what the socket had already read when it was paused (one read
 * chunk, at most tens of KiB, plus one frame): `ws` still parses those bytes. That overshoot is
 * the whole slack: memory per connection stays at about `limitBytes` plus one chunk.
 */

/** Pausing and resuming the socket (the `ws` library's `pause()`/`resume()`). */
export interface ReadControl {
  readonly pause: () => void
  readonly resume: () => void
}

/** A frame costs its bytes plus this much bookkeeping, so a flood of tiny frames is bounded too. */
export const FRAME_OVERHEAD_BYTES = 256

export class InboundFlow {
  private readonly limitBytes: number
  private readonly control: ReadControl
  private pending = 0
  private paused = false

  constructor(limitBytes: number, control: ReadControl) {
    this.limitBytes = limitBytes
    this.control = control
  }

  /** Bytes of frames received and not yet answered. */
  get pendingBytes(): number {
    return this.pending
  }

  /** Whether the socket is not being read because of this connection's backlog. */
  get isPaused(): boolean {
    return this.paused
  }

  /** A frame of `bytes` arrived. */
  received(bytes: number): void {
    this.pending += bytes
    if (!this.paused && this.pending >= this.limitBytes) {
      this.paused = true
      this.control.pause()
    }
  }

  /** A frame of `bytes` has been answered (or dropped). */
  answered(bytes: number): void {
    this.pending = Math.max(0, this.pending - bytes)
    // Hysteresis: resuming at the limit itself would pause and resume on every frame.
    if (this.paused && this.pending <= this.limitBytes / 2) {
      this.paused = false
      this.control.resume()
    }
  }
}
