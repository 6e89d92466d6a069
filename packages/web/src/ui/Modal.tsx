/**
 * A modal dialog on the native <dialog> element: focus moves in (to its first field, where typing
 * starts), Escape closes, focus returns.
 */
import { useEffect, useRef } from "react"
import type { ReactNode } from "react"

export const Modal = ({ title, onClose, children }: { readonly title: string; readonly onClose: () => void; readonly children: ReactNode }) => {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    const previous = document.activeElement
    dialog?.showModal()
    // showModal focuses the first focusable element, the Close button; React's autoFocus ran
    // before the dialog was shown, so it had no effect.
    dialog?.querySelector<HTMLElement>("input, textarea, select")?.focus()
    return () => {
      dialog?.close()
      if (previous instanceof HTMLElement) previous.focus()
    }
  }, [])
  return (
    <dialog ref={ref} className="modal" aria-label={title} onCancel={(e) => { e.preventDefault(); onClose() }}>
      <div className="modal-head">
        <h2>{title}</h2>
        <button type="button" aria-label="Close" onClick={onClose}>×</button>
      </div>
      {children}
    </dialog>
  )
}
