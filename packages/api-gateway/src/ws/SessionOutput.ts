/**
 * What one session writes, through its bounded outbound queue (`OutboundBuffer`): live frames
 * are queued or, when the queue is full, end the connection as a slow consumer (4008); replayed
 * history waits for room in the queue instead, so a long replay never overflows it.
 */
import { Clock, Effect } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { encodeServerFrame } from "@pylon/contracts/WsFrames"
import type { OutboundBuffer } from "./OutboundBuffer.ts"
import { OutgoingFrame } from "./OutgoingFrame.ts"
import type { SessionSocket } from "./SessionSocket.ts"

/** How often a waiting replay looks for room in the queue. */
const WAIT_POLL = "5 millis"

export interface SessionOutput {
  /** Queues an encoded frame; a full queue closes the connection (slow consumer). */
  readonly enqueue: (frame: OutgoingFrame) => void
  /**
   * Queues an encoded frame once the queue has room; a reader that takes no frame for the idle
   * timeout is cut off like any slow consumer.
   */
  readonly enqueueWaiting: (frame: OutgoingFrame) => Effect.Effect<void>
  readonly sendFrame: (frame: ServerFrame) => void
  /** Drops what is still queued (the connection is closing). */
  readonly dispose: () => void
}

export const makeSessionOutput = (options: {
  readonly socket: Pick<SessionSocket, "isOpen">
  readonly outbound: OutboundBuffer
  readonly idleTimeoutMs: number
  readonly onSlowConsumer: () => void
}): SessionOutput => {
  const { outbound, socket } = options
  const enqueue = (frame: OutgoingFrame) => {
    if (!outbound.offer(frame)) options.onSlowConsumer()
  }
  const enqueueWaiting = (frame: OutgoingFrame) =>
    Effect.gen(function*() {
      const giveUpAt = (yield* Clock.currentTimeMillis) + options.idleTimeoutMs
      while (outbound.isFull && socket.isOpen && (yield* Clock.currentTimeMillis) < giveUpAt) yield* Effect.sleep(WAIT_POLL)
      enqueue(frame)
    })
  return {
    enqueue,
    enqueueWaiting,
    sendFrame: (frame) => enqueue(new OutgoingFrame(encodeServerFrame(frame))),
    dispose: () => outbound.dispose()
  }
}
