/** The message box: Enter sends, Shift+Enter starts a new line; typing is announced to the room. */
import { useState } from "react"
import type { FormEvent, KeyboardEvent } from "react"

const MAX_CONTENT = 10_000

export const Composer = ({ roomName, onSend, onTyping }: {
  readonly roomName: string
  readonly onSend: (content: string) => void
  readonly onTyping: () => void
}) => {
  const [text, setText] = useState("")
  const send = (event?: FormEvent) => {
    event?.preventDefault()
    const content = text.trim()
    if (content.length === 0 || content.length > MAX_CONTENT) return
    onSend(content)
    setText("")
  }
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault()
      send()
    }
  }
  const tooLong = text.trim().length > MAX_CONTENT
  return (
    <form className="composer" onSubmit={send}>
      <label htmlFor="composer-input" className="visually-hidden">Message {roomName}</label>
      <textarea
        id="composer-input"
        rows={2}
        value={text}
        placeholder={`Message ${roomName} (Enter to send, Shift+Enter for a new line)`}
        aria-invalid={tooLong}
        onChange={(e) => {
          setText(e.target.value)
          if (e.target.value.trim().length > 0) onTyping()
        }}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={text.trim().length === 0 || tooLong}>Send</button>
      {tooLong && <p className="form-error" role="alert">A message can be at most {MAX_CONTENT.toLocaleString()} characters.</p>}
    </form>
  )
}
