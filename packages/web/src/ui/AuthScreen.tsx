/** Sign in or create an account; errors are shown next to the form and announced. */
import { useId, useState } from "react"
import type { FormEvent } from "react"
import { ApiError } from "../api/Rest.ts"
import { login, register } from "../api/Session.ts"
import type { StoredSession } from "../api/Session.ts"

export const AuthScreen = ({ onSignedIn }: { readonly onSignedIn: (session: StoredSession) => void }) => {
  const [mode, setMode] = useState<"login" | "register">("login")
  const [username, setUsername] = useState("")
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const errorId = useId()

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      onSignedIn(mode === "login" ? await login(email, password) : await register(username, email, password))
    } catch (e) {
      setError(e instanceof ApiError ? (mode === "login" && e.code === "unauthorized" ? "Wrong email or password." : e.message) : "Something went wrong.")
      setBusy(false)
    }
  }

  const title = mode === "login" ? "Sign in" : "Create an account"
  return (
    <main className="auth">
      <h1>Pylon</h1>
      <form onSubmit={(e) => void submit(e)} aria-labelledby="auth-title" aria-describedby={error === undefined ? undefined : errorId}>
        <h2 id="auth-title">{title}</h2>
        {mode === "register" && (
          <label>
            Username
            <input name="username" autoComplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+"
              value={username} onChange={(e) => setUsername(e.target.value)} />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={255} value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={mode === "login" ? "current-password" : "new-password"} required
            minLength={mode === "register" ? 8 : 1} maxLength={128} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error !== undefined && <p id={errorId} className="form-error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{mode === "login" ? "Sign in" : "Create account"}</button>
        <button type="button" className="link" onClick={() => { setMode(mode === "login" ? "register" : "login"); setError(undefined) }}>
          {mode === "login" ? "New here? Create an account" : "Have an account? Sign in"}
        </button>
      </form>
    </main>
  )
}
