/** One room: header, history (scroll up for older), typing line, composer and members. */
import { useState } from "react"
import type { ChatClient } from "../chat/ChatClient.ts"
import type { ChatState, RoomView } from "../chat/State.ts"
import { emptyRoomState } from "../chat/State.ts"
import { Composer } from "./Composer.tsx"
import { MembersPanel } from "./MembersPanel.tsx"
import { MessageList } from "./MessageList.tsx"

export const RoomPane = ({ client, state, room, onOpenRoom }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly room: RoomView
  readonly onOpenRoom: (roomId: string | undefined) => void
}) => {
  const roomState = state.roomState[room.id] ?? emptyRoomState
  const [showMembers, setShowMembers] = useState(false)
  const typing = Object.values(roomState.typing).map((t) => t.username)
  const leave = async () => {
    if (!window.confirm(`Leave ${room.name}?`)) return
    if (await client.leaveRoom(room.id)) onOpenRoom(undefined)
  }
  const memberCount = roomState.members?.length ?? room.memberCount
  return (
    <main className="room" aria-labelledby="room-title">
      <header className="room-head">
        <button type="button" className="back" aria-label="Back to rooms" onClick={() => onOpenRoom(undefined)}>←</button>
        <h2 id="room-title">{room.type === "channel" ? `#${room.name}` : room.name}</h2>
        <span className="muted">{room.type} · {memberCount} {memberCount === 1 ? "member" : "members"}</span>
        <button type="button" aria-expanded={showMembers} aria-controls="members-panel" onClick={() => setShowMembers(!showMembers)}>
          Members
        </button>
        <button type="button" onClick={() => void leave()}>Leave</button>
      </header>
      <div className="room-body" data-members={showMembers}>
        <div className="conversation">
          <MessageList client={client} roomId={room.id} roomState={roomState} meId={client.me.id} />
          <p className="typing" aria-live="polite">
            {typing.length === 0 ? "" : `${typing.join(", ")} ${typing.length === 1 ? "is" : "are"} typing…`}
          </p>
          <Composer
            roomName={room.name}
            onSend={(content) => client.sendMessage(room.id, content)}
            onTyping={() => client.typing(room.id)}
          />
        </div>
        <MembersPanel client={client} state={state} roomState={roomState} onOpenRoom={onOpenRoom} />
      </div>
    </main>
  )
}
