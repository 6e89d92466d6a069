/**
 * The conversation: oldest at the top; scrolling near the top loads the previous page and keeps
 * the view where it was; new messages scroll into view when the reader is at the bottom.
 * Pending sends follow the stored messages until their ack and delivery.
 */
import { useEffect, useLayoutEffect, useRef } from "react"
import type { ChatClient } from "../chat/ChatClient.ts"
import type { RoomState } from "../chat/State.ts"

const NEAR_TOP_PX = 120
const NEAR_BOTTOM_PX = 80

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })

export const MessageList = ({ client, roomId, roomState, meId }: {
  readonly client: ChatClient
  readonly roomId: string
  readonly roomState: RoomState
  readonly meId: string
}) => {
  const ref = useRef<HTMLDivElement>(null)
  const anchor = useRef<{ firstSeq: number | undefined; height: number; atBottom: boolean }>({ firstSeq: undefined, height: 0, atBottom: true })
  const { messages, pending, hasMore, loadingOlder, historyLoaded } = roomState

  // Before the DOM changes are painted: keep the position when older messages were prepended,
  // follow the newest message when the reader was at the bottom.
  useLayoutEffect(() => {
    const el = ref.current
    if (el === null) return
    const before = anchor.current
    const firstSeq = messages[0]?.seq
    if (before.firstSeq !== undefined && firstSeq !== undefined && firstSeq < before.firstSeq && !before.atBottom) {
      el.scrollTop += el.scrollHeight - before.height
    } else if (before.atBottom) {
      el.scrollTop = el.scrollHeight
    }
    anchor.current = { firstSeq, height: el.scrollHeight, atBottom: anchor.current.atBottom }
  }, [messages, pending])

  // A first page that does not fill the view: load more until it scrolls (or there is no more).
  useEffect(() => {
    const el = ref.current
    if (el !== null && historyLoaded && hasMore && !loadingOlder && el.scrollHeight <= el.clientHeight) void client.loadOlder(roomId)
  }, [client, roomId, historyLoaded, hasMore, loadingOlder, messages])

  const onScroll = () => {
    const el = ref.current
    if (el === null) return
    anchor.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX
    anchor.current.height = el.scrollHeight
    if (el.scrollTop < NEAR_TOP_PX && hasMore && !loadingOlder) void client.loadOlder(roomId)
  }

  return (
    <div className="messages" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" tabIndex={0}>
      {historyLoaded && !hasMore && <p className="history-start">This is the beginning of the room.</p>}
      {loadingOlder && <p className="history-start" role="status">Loading older messages…</p>}
      <ol>
        {messages.map((m) => (
          <li key={m.seq} className="message" data-seq={m.seq} data-mine={m.senderId === meId}>
            <span className="sender">{m.senderName}</span>
            <time dateTime={new Date(m.createdAt).toISOString()}>{time(m.createdAt)}</time>
            <p className="content">{m.content}</p>
          </li>
        ))}
        {pending.map((p) => (
          <li key={p.clientMsgId} className="message pending" data-mine="true" data-status={p.status}>
            <span className="sender">You</span>
            <span className="muted">{p.status === "failed" ? "Not sent" : p.status === "sent" ? "Sent" : "Sending…"}</span>
            <p className="content">{p.content}</p>
            {p.status === "failed" && (
              <p className="form-error">
                {p.error}{" "}
                <button type="button" className="link" onClick={() => client.retry(roomId, p.clientMsgId)}>Retry</button>{" "}
                <button type="button" className="link" onClick={() => client.discard(roomId, p.clientMsgId)}>Discard</button>
              </p>
            )}
          </li>
        ))}
      </ol>
    </div>
  )
}
