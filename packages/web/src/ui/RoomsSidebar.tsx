/** The person's rooms, newest activity first, with unread counts; create a room or browse channels. */
import { useState } from "react"
import type { ChatClient } from "../chat/ChatClient.ts"
import { unreadCount } from "../chat/State.ts"
import type { ChatState, RoomType } from "../chat/State.ts"
import { ChannelBrowser } from "./ChannelBrowser.tsx"
import { NewRoomDialog } from "./NewRoomDialog.tsx"

const TYPE_MARK: Record<RoomType, string> = { channel: "#", group: "⁂", direct: "@" }

export const RoomsSidebar = ({ client, state, selected, onOpenRoom }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly selected: string | undefined
  readonly onOpenRoom: (roomId: string) => void
}) => {
  const [dialog, setDialog] = useState<"new" | "browse" | undefined>()
  return (
    <nav className="sidebar" aria-label="Rooms">
      <div className="sidebar-actions">
        <button type="button" onClick={() => setDialog("new")}>New room</button>
        <button type="button" onClick={() => setDialog("browse")}>Browse channels</button>
      </div>
      <h2 className="visually-hidden">Your rooms</h2>
      {state.roomsLoaded && state.rooms.length === 0 && <p className="empty">No rooms yet.</p>}
      <ul className="room-list">
        {state.rooms.map((room) => {
          const unread = room.id === selected ? 0 : unreadCount(room, state.lastRead[room.id])
          return (
            <li key={room.id}>
              <a
                href={`#/rooms/${room.id}`}
                className="room-link"
                aria-current={room.id === selected ? "page" : undefined}
                aria-label={`${room.name}, ${room.type}${unread > 0 ? `, ${unread} unread` : ""}`}
                onClick={(e) => {
                  e.preventDefault()
                  onOpenRoom(room.id)
                }}
              >
                <span className="room-mark" aria-hidden="true">{TYPE_MARK[room.type]}</span>
                <span className="room-name">{room.name}</span>
                {unread > 0 && <span className="badge" aria-hidden="true">{unread > 99 ? "99+" : unread}</span>}
              </a>
            </li>
          )
        })}
      </ul>
      {dialog === "new" && <NewRoomDialog client={client} state={state} onClose={() => setDialog(undefined)} onCreated={onOpenRoom} />}
      {dialog === "browse" && <ChannelBrowser client={client} state={state} onClose={() => setDialog(undefined)} onJoined={onOpenRoom} />}
    </nav>
  )
}
