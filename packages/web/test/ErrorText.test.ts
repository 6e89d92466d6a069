// Issue #12's "clear error messages for every error code": every code of the contract (HTTP
// envelope and WebSocket error frames) has its own sentence; the server's detail is shown only
// where it names a field or a limit, and never for internal failures.
import { describe, expect, it } from "vitest"
import { ErrorCode } from "@pylon/contracts/Envelope"
import { WsErrorCode } from "@pylon/contracts/WsFrames"
import { restErrorText, wsErrorText } from "../src/api/ErrorText.ts"

const SECRET_DETAIL = "relation \"users\" violates constraint at postgres://pylon:secret@db"

describe("error texts", () => {
  const ownSentences = (texts: ReadonlyArray<string>) => {
    for (const sentence of texts) expect(sentence.length).toBeGreaterThan(10)
    expect(new Set(texts).size).toBe(texts.length)
  }

  it("gives every HTTP code its own sentence", () => {
    ownSentences(ErrorCode.literals.map((code) => restErrorText(code, "")))
  })

  it("gives every WebSocket code its own sentence", () => {
    ownSentences(WsErrorCode.literals.map((code) => wsErrorText(code, "")))
  })

  it("shows the server's detail for validation-type errors only", () => {
    expect(restErrorText("bad_request", "name: must be at most 255 characters")).toBe(
      "That was not accepted: name: must be at most 255 characters"
    )
    expect(wsErrorText("BAD_REQUEST", "content: must not be empty")).toBe("The message was not accepted: content: must not be empty")
    expect(restErrorText("internal_error", SECRET_DETAIL)).not.toContain("secret")
    expect(wsErrorText("INTERNAL", SECRET_DETAIL)).not.toContain("postgres")
    expect(restErrorText("service_unavailable", SECRET_DETAIL)).not.toContain("postgres")
  })

  it("does not show a detail too long to be a field or limit", () => {
    expect(restErrorText("bad_request", "x".repeat(201))).toBe("That was not accepted")
  })
})
