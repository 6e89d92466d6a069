/** The notifications bell: unread badge, a list that opens the room, mark one or all read. */
import { useState } from "react"
import type { ChatClient } from "../chat/ChatClient.ts"
import type { ChatState } from "../chat/State.ts"

export const NotificationsMenu = ({ client, state, onOpenRoom }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly onOpenRoom: (roomId: string) => void
}) => {
  const [open, setOpen] = useState(false)
  const unread = state.unreadNotifications
  return (
    <div className="notifications">
      <button
        type="button"
        aria-expanded={open}
        aria-controls="notifications-panel"
        aria-label={`Notifications, ${unread} unread`}
        onClick={() => setOpen(!open)}
        onKeyDown={(e) => { if (e.key === "Escape") setOpen(false) }}
      >
        <span aria-hidden="true">🔔</span>
        {unread > 0 && <span className="badge" aria-hidden="true" data-testid="notification-badge">{unread > 99 ? "99+" : unread}</span>}
      </button>
      {open && (
        <section id="notifications-panel" className="notifications-panel" aria-label="Notifications"
          onKeyDown={(e) => { if (e.key === "Escape") setOpen(false) }}>
          <div className="panel-head">
            <h2>Notifications</h2>
            <button type="button" disabled={unread === 0} onClick={() => void client.markAllRead()}>Mark all read</button>
          </div>
          {state.notifications.length === 0 && <p className="empty">Nothing yet.</p>}
          <ul>
            {state.notifications.map((n) => (
              <li key={n.id} data-read={n.read}>
                <button
                  type="button"
                  className="notification"
                  onClick={() => {
                    void client.markRead(n.id)
                    setOpen(false)
                    onOpenRoom(n.roomId)
                  }}
                >
                  <strong>{n.title}</strong>
                  <span>{n.body}</span>
                  <time dateTime={new Date(n.createdAt).toISOString()}>{new Date(n.createdAt).toLocaleString()}</time>
                </button>
                {!n.read && (
                  <button type="button" className="link" aria-label={`Mark "${n.title}" read`} onClick={() => void client.markRead(n.id)}>
                    Mark read
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  )
}
