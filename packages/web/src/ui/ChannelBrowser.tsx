/** Find public channels by name and join them. */
import { useEffect, useState } from "react"
import { ApiError } from "../api/Rest.ts"
import type { ChatClient } from "../chat/ChatClient.ts"
import type { ChatState, RoomView } from "../chat/State.ts"
import { Modal } from "./Modal.tsx"

export const ChannelBrowser = ({ client, state, onClose, onJoined }: {
  readonly client: ChatClient
  readonly state: ChatState
  readonly onClose: () => void
  readonly onJoined: (roomId: string) => void
}) => {
  const [query, setQuery] = useState("")
  const [results, setResults] = useState<ReadonlyArray<RoomView> | undefined>()
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    let live = true
    const timer = setTimeout(() => {
      client.searchChannels(query.trim()).then(
        (rooms) => { if (live) { setResults(rooms); setError(undefined) } },
        (e: unknown) => { if (live) setError(e instanceof ApiError ? e.message : "Search failed.") }
      )
    }, 250)
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [client, query])
  const mine = new Set(state.rooms.map((r) => r.id))
  return (
    <Modal title="Browse channels" onClose={onClose}>
      <label>
        Search channels
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
      </label>
      {error !== undefined && <p className="form-error" role="alert">{error}</p>}
      <ul className="channel-results" aria-label="Channels" aria-busy={results === undefined}>
        {results?.length === 0 && <li className="empty">No channels found.</li>}
        {results?.map((room) => (
          <li key={room.id}>
            <span className="room-name">#{room.name}</span>
            <span className="muted">{room.memberCount} members</span>
            {mine.has(room.id)
              ? <button type="button" onClick={() => { onClose(); onJoined(room.id) }}>Open #{room.name}</button>
              : (
                <button type="button" onClick={() => void client.joinChannel(room).then((ok) => { if (ok) { onClose(); onJoined(room.id) } })}>
                  Join #{room.name}
                </button>
              )}
          </li>
        ))}
      </ul>
    </Modal>
  )
}
