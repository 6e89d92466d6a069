/**
 * Create a direct, group or channel room. Members are picked from the people in your rooms
 * (there is no user directory in the API), or added by their user id.
 */
import { useMemo, useState } from "react"
import type { FormEvent } from "react"
import type { ChatClient } from "../chat/ChatClient.ts"
import type { ChatState, RoomType } from "../chat/State.ts"
import { Modal } from "./Modal.tsx"

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

export const knownPeople = (state: ChatState, meId: string): ReadonlyArray<{ readonly userId: string; readonly username: string }> => {
  const people = new Map<string, string>()
  for (const room of Object.values(state.roomState)) {
    for (const member of room.members ?? []) if (member.userId !== meId) people.set(member.userId, member.username)
  }
  return [...people].map(([userId, username]) => ({ userId, username })).sort((a, b) => a.username.localeCompare(b.username))
}

export const NewRoomDialog = ({ client, state, onClose, onCreated }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly onClose: () => void
  readonly onCreated: (roomId: string) => void
}) => {
  const [name, setName] = useState("")
  const [type, setType] = useState<RoomType>("channel")
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set())
  const [extraIds, setExtraIds] = useState("")
  const [error, setError] = useState<string | undefined>()
  const people = useMemo(() => knownPeople(state, client.me.id), [state, client])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    const typed = extraIds.split(/[\s,]+/).filter((s) => s.length > 0)
    const invalid = typed.find((id) => !UUID.test(id))
    if (invalid !== undefined) return setError(`"${invalid}" is not a user id`)
    const memberIds = [...new Set([...picked, ...typed])]
    if (type === "direct" && memberIds.length !== 1) return setError("A direct room has exactly one other person.")
    const roomId = await client.createRoom(name.trim(), type, memberIds)
    if (roomId !== undefined) {
      onClose()
      onCreated(roomId)
    }
  }

  return (
    <Modal title="New room" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className="stack">
        <label>
          Room name
          <input required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <fieldset>
          <legend>Type</legend>
          {(["channel", "group", "direct"] as const).map((t) => (
            <label key={t} className="inline">
              <input type="radio" name="room-type" value={t} checked={type === t} onChange={() => setType(t)} />
              {t === "channel" ? "Channel (anyone can find and join)" : t === "group" ? "Group (invited members)" : "Direct (one other person)"}
            </label>
          ))}
        </fieldset>
        {people.length > 0 && (
          <fieldset>
            <legend>Members</legend>
            {people.map((p) => (
              <label key={p.userId} className="inline">
                <input
                  type="checkbox"
                  checked={picked.has(p.userId)}
                  onChange={(e) => {
                    const next = new Set(picked)
                    if (e.target.checked) next.add(p.userId)
                    else next.delete(p.userId)
                    setPicked(next)
                  }}
                />
                {p.username}
              </label>
            ))}
          </fieldset>
        )}
        <label>
          Other members by user id (comma-separated)
          <input value={extraIds} onChange={(e) => setExtraIds(e.target.value)} placeholder="0190…" />
        </label>
        <p className="hint">Your user id: <code>{client.me.id}</code></p>
        {error !== undefined && <p className="form-error" role="alert">{error}</p>}
        <button type="submit" className="primary">Create</button>
      </form>
    </Modal>
  )
}
