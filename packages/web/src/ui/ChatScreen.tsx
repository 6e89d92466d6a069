/** The signed-in layout: top bar, rooms list, the open room; on a phone the list and the room take turns. */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react"
import { logout, SessionClient } from "../api/Session.ts"
import type { StoredSession } from "../api/Session.ts"
import { ChatClient } from "../chat/ChatClient.ts"
import { ConnectionStatus } from "./ConnectionStatus.tsx"
import { NotificationsMenu } from "./NotificationsMenu.tsx"
import { RoomPane } from "./RoomPane.tsx"
import { RoomsSidebar } from "./RoomsSidebar.tsx"

const roomFromHash = (): string | undefined => {
  const match = /^#\/rooms\/([0-9a-fA-F-]{36})$/.exec(location.hash)
  return match?.[1]
}

export const openRoomLink = (roomId: string | undefined): void => {
  location.hash = roomId === undefined ? "" : `#/rooms/${roomId}`
}

export const ChatScreen = ({ session, onSignedOut }: { readonly session: StoredSession; readonly onSignedOut: () => void }) => {
  const signedOut = useRef(onSignedOut)
  signedOut.current = onSignedOut
  const client = useMemo(() => new ChatClient(new SessionClient(session, () => signedOut.current())), [session])
  const state = useSyncExternalStore(client.subscribe, client.getState)
  const [roomId, setRoomId] = useState(roomFromHash)

  useEffect(() => {
    client.start()
    return () => client.stop()
  }, [client])
  useEffect(() => {
    const onHash = () => setRoomId(roomFromHash())
    window.addEventListener("hashchange", onHash)
    return () => window.removeEventListener("hashchange", onHash)
  }, [])
  useEffect(() => {
    void client.openRoom(roomId)
  }, [client, roomId])

  const room = state.rooms.find((r) => r.id === roomId)
  const signOut = async () => {
    client.stop()
    await logout(client.currentSession)
    onSignedOut()
  }

  return (
    <div className="chat" data-view={room === undefined ? "list" : "room"}>
      <header className="topbar">
        <h1 className="brand">Pylon</h1>
        <ConnectionStatus connection={state.connection} />
        <NotificationsMenu client={client} state={state} onOpenRoom={openRoomLink} />
        <span className="me" title={session.user.email}>{client.me.username}</span>
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <RoomsSidebar client={client} state={state} selected={roomId} onOpenRoom={openRoomLink} />
      {room === undefined
        ? (
          <main className="room-placeholder">
            <p>{state.roomsLoaded && roomId !== undefined ? "This room is not in your list." : "Pick a room, create one, or browse channels."}</p>
          </main>
        )
        : <RoomPane key={room.id} client={client} state={state} room={room} onOpenRoom={openRoomLink} />}
      {state.notice !== undefined && (
        <div className="notice" role="alert">
          <span>{state.notice.text}</span>
          <button type="button" aria-label="Dismiss message" onClick={() => client.dismissNotice()}>×</button>
        </div>
      )}
    </div>
  )
}
