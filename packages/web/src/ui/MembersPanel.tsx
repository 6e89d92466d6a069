/** The room's members with their presence; a direct room with any of them is one click away. */
import type { ChatClient } from "../chat/ChatClient.ts"
import type { ChatState, RoomState } from "../chat/State.ts"

export const MembersPanel = ({ client, state, roomState, onOpenRoom }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly roomState: RoomState
  readonly onOpenRoom: (roomId: string) => void
}) => {
  const members = roomState.members ?? []
  const direct = async (userId: string, username: string) => {
    const roomId = await client.createRoom(`${client.me.username} & ${username}`, "direct", [userId])
    if (roomId !== undefined) onOpenRoom(roomId)
  }
  return (
    <aside id="members-panel" className="members" aria-label="Members">
      <h3>Members</h3>
      <ul>
        {members.map((m) => {
          const online = m.userId === client.me.id ? state.connection.status === "online" : state.presence[m.userId] === "online"
          return (
            <li key={m.userId} data-presence={online ? "online" : "offline"}>
              <span className="dot" aria-hidden="true" />
              <span className="member-name">{m.username}</span>
              <span className="visually-hidden">{online ? "online" : "offline"}</span>
              {m.role !== "member" && <span className="muted"> ({m.role})</span>}
              {m.userId !== client.me.id && (
                <button type="button" className="link" aria-label={`Message ${m.username} directly`} onClick={() => void direct(m.userId, m.username)}>
                  Message
                </button>
              )}
            </li>
          )
        })}
      </ul>
    </aside>
  )
}
