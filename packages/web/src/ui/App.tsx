/** Signed out: the sign-in/registration screen; signed in: the chat. A reload keeps the session. */
import { useEffect, useState } from "react"
import { needsRefresh, readStoredSession, refresh } from "../api/Session.ts"
import type { StoredSession } from "../api/Session.ts"
import { AuthScreen } from "./AuthScreen.tsx"
import { ChatScreen } from "./ChatScreen.tsx"

type Phase = { readonly name: "restoring" } | { readonly name: "signed-out" } | { readonly name: "signed-in"; readonly session: StoredSession }

const restore = async (): Promise<StoredSession | undefined> => {
  const stored = readStoredSession()
  if (stored === undefined) return undefined
  return needsRefresh(stored) ? refresh(stored).catch(() => stored) : stored
}

export const App = () => {
  const [phase, setPhase] = useState<Phase>({ name: "restoring" })
  useEffect(() => {
    void restore().then((session) => setPhase(session === undefined ? { name: "signed-out" } : { name: "signed-in", session }))
    // Signed out (or in as someone else) in another tab.
    const onStorage = (event: StorageEvent) => {
      if (event.key !== "pylon.session") return
      const session = readStoredSession()
      setPhase((current) =>
        session === undefined
          ? { name: "signed-out" }
          : current.name === "signed-in" && current.session.user.id === session.user.id
          ? current
          : { name: "signed-in", session }
      )
    }
    window.addEventListener("storage", onStorage)
    return () => window.removeEventListener("storage", onStorage)
  }, [])
  switch (phase.name) {
    case "restoring":
      return <p className="splash" role="status">Loading…</p>
    case "signed-out":
      return <AuthScreen onSignedIn={(session) => setPhase({ name: "signed-in", session })} />
    case "signed-in":
      return <ChatScreen key={phase.session.user.id} session={phase.session} onSignedOut={() => setPhase({ name: "signed-out" })} />
  }
}
