/** The live connection's state, always visible; a countdown while waiting to reconnect. */
import { useEffect, useState } from "react"
import type { ConnectionState } from "../chat/State.ts"

export const ConnectionStatus = ({ connection }: { readonly connection: ConnectionState }) => {
  const [now, setNow] = useState(Date.now)
  useEffect(() => {
    if (connection.status !== "offline") return
    const timer = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(timer)
  }, [connection])
  const text = connection.status === "online"
    ? "Connected"
    : connection.status === "connecting"
    ? "Connecting…"
    : connection.retryAt === undefined
    ? "Offline"
    : `Offline — reconnecting in ${Math.max(0, Math.ceil((connection.retryAt - now) / 1000))} s`
  return (
    <span className="connection" data-status={connection.status} role="status" aria-label={`Connection: ${text}`}>
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  )
}
