/**
 * Splits a PostgreSQL script into single statements.
 *
 * The native `@effect/sql-pg` client speaks only the extended query protocol, which
 * refuses more than one command per query, so migration files are sent one statement
 * at a time. A `;` ends a statement only outside of quoted strings (`'…'`, `E'…'`),
 * quoted identifiers (`"…"`), dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`) and
 * comments (`-- …`, nested `/* … *\/`). Statements keep their text (comments included)
 * exactly as written; pieces holding nothing but whitespace and comments are dropped.
 */

const isIdentifierStart = (char: string | undefined): boolean =>
  char !== undefined && /[A-Za-z_\u0080-\uffff]/.test(char)

const isIdentifierPart = (char: string | undefined): boolean =>
  char !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(char)

/** Index just past the closing quote of a `'…'` or `"…"` token opened at `start`. */
const skipQuoted = (text: string, start: number, quote: string, backslashEscapes: boolean): number => {
  let i = start + 1
  while (i < text.length) {
    const char = text[i]
    if (backslashEscapes && char === "\\") {
      i += 2
    } else if (char === quote) {
      if (text[i + 1] === quote) {
        i += 2
      } else {
        return i + 1
      }
    } else {
      i += 1
    }
  }
  return text.length
}

/** Index just past the end of a (possibly nested) block comment opened at `start`. */
const skipBlockComment = (text: string, start: number): number => {
  let depth = 1
  let i = start + 2
  while (i < text.length && depth > 0) {
    if (text.startsWith("/*", i)) {
      depth += 1
      i += 2
    } else if (text.startsWith("*/", i)) {
      depth -= 1
      i += 2
    } else {
      i += 1
    }
  }
  return i
}

/** The `$tag$` opening a dollar-quoted string at `start`, if there is one. */
const dollarTagAt = (text: string, start: number): string | undefined => {
  // `$1` is a parameter and `a$b` is part of an identifier, not a dollar quote.
  if (isIdentifierPart(text[start - 1])) return undefined
  const next = text[start + 1]
  if (next === "$") return "$$"
  if (!isIdentifierStart(next)) return undefined
  let i = start + 2
  while (i < text.length && /[A-Za-z0-9_\u0080-\uffff]/.test(text[i] ?? "")) i += 1
  return text[i] === "$" ? text.slice(start, i + 1) : undefined
}

/** True when the statement holds something other than whitespace and comments. */
const hasContent = (statement: string): boolean => {
  let i = 0
  while (i < statement.length) {
    const char = statement[i]
    if (char === undefined) break
    if (/\s/.test(char)) {
      i += 1
    } else if (statement.startsWith("--", i)) {
      const end = statement.indexOf("\n", i)
      i = end === -1 ? statement.length : end + 1
    } else if (statement.startsWith("/*", i)) {
      i = skipBlockComment(statement, i)
    } else {
      return true
    }
  }
  return false
}

/**
 * Splits `script` at top-level semicolons. Each statement is returned trimmed and
 * without its terminating `;`.
 */
export const splitStatements = (script: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let start = 0
  let i = 0
  const push = (end: number) => {
    const statement = script.slice(start, end).trim()
    if (hasContent(statement)) statements.push(statement)
  }
  while (i < script.length) {
    const char = script[i]
    if (char === "'") {
      const previous = script[i - 1]
      const escapeString = (previous === "E" || previous === "e") && !isIdentifierPart(script[i - 2])
      i = skipQuoted(script, i, "'", escapeString)
    } else if (char === "\"") {
      i = skipQuoted(script, i, "\"", false)
    } else if (char === "-" && script[i + 1] === "-") {
      const end = script.indexOf("\n", i)
      i = end === -1 ? script.length : end + 1
    } else if (char === "/" && script[i + 1] === "*") {
      i = skipBlockComment(script, i)
    } else if (char === "$") {
      const tag = dollarTagAt(script, i)
      if (tag === undefined) {
        i += 1
      } else {
        const end = script.indexOf(tag, i + tag.length)
        i = end === -1 ? script.length : end + tag.length
      }
    } else if (char === ";") {
      push(i)
      i += 1
      start = i
    } else {
      i += 1
    }
  }
  push(script.length)
  return statements
}
