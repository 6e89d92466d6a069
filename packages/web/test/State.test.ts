/**
 * The client's merge of messages by room seq (`mergeMessages`, pure; no browser): history pages,
 * replayed and live frames in any order and any number of times end up ascending, once each,
 * contiguous, ending at the newest.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { mergeMessages } from "../src/chat/State.ts"
import type { ChatMessage } from "../src/chat/State.ts"

const message = (seq: number, content = `message ${seq}`): ChatMessage => ({
  id: `id-${seq}`,
  seq,
  senderId: "u1",
  senderName: "alice",
  content,
  clientMsgId: null,
  createdAt: 1_700_000_000_000 + seq
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => message(from + i))
const seqs = (messages: ReadonlyArray<ChatMessage>) => messages.map((m) => m.seq)

describe("mergeMessages", () => {
  it("nothing new returns the same array (no re-render)", () => {
    const existing = range(1, 3)
    expect(mergeMessages(existing, [])).toBe(existing)
    expect(mergeMessages(existing, [message(2), message(3)])).toBe(existing)
  })

  it("live messages after the history, an older page before it, in seq order", () => {
    expect(seqs(mergeMessages(range(1, 3), [message(5), message(4)]))).toEqual([1, 2, 3, 4, 5])
    expect(seqs(mergeMessages(range(4, 6), range(1, 3)))).toEqual([1, 2, 3, 4, 5, 6])
    expect(seqs(mergeMessages([], [message(3), message(1), message(2)]))).toEqual([1, 2, 3])
  })

  it("a replayed copy of a seq already shown is dropped: the first copy stays", () => {
    const merged = mergeMessages(range(1, 2), [message(2, "replayed"), message(3)])
    expect(seqs(merged)).toEqual([1, 2, 3])
    expect(merged[1]?.content).toBe("message 2")
  })

  it("across a gap only the run ending at the newest message is kept (older pages continue from it)", () => {
    expect(seqs(mergeMessages(range(1, 3), [message(7), message(8)]))).toEqual([7, 8])
    expect(seqs(mergeMessages(range(5, 6), range(1, 2)))).toEqual([5, 6])
  })

  it("any arrival order, with repeats: the longest contiguous run ending at the newest seq, each seq once, first copy kept", () => {
    // Chunks of seqs as they may arrive: pages, replays and live frames, overlapping and shuffled.
    const arrivals = fc.array(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }), { minLength: 1, maxLength: 8 })
    fc.assert(fc.property(arrivals, (chunks) => {
      let shown: ReadonlyArray<ChatMessage> = []
      chunks.forEach((chunk, round) => {
        const incoming = chunk.map((seq) => message(seq, `round ${round}`))
        // What the merge can draw from: what was shown, else the first copy that arrived now.
        const available = new Map<number, ChatMessage>(shown.map((m) => [m.seq, m]))
        for (const m of incoming) if (!available.has(m.seq)) available.set(m.seq, m)
        shown = mergeMessages(shown, incoming)
        if (available.size === 0) return expect(shown).toEqual([])
        const newest = Math.max(...available.keys())
        const oldest = shown[0]?.seq ?? newest
        // Contiguous, ascending, once each, up to the newest, and not one more could be kept.
        expect(seqs(shown)).toEqual(Array.from({ length: newest - oldest + 1 }, (_, i) => oldest + i))
        expect(available.has(oldest - 1)).toBe(false)
        for (const m of shown) expect(m).toBe(available.get(m.seq))
      })
    }))
  })
})
