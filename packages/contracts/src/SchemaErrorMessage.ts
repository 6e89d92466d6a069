/**
 * Turns a Schema decoding failure into the one-line, client-safe message API.md asks for:
 * it names the field ("room_id is required", "room_id: must be a UUID",
 * "member_ids[2]: must be a UUID") and never echoes the rejected input.
 */
import { SchemaAST, SchemaIssue } from "effect"
import type { SchemaError } from "effect/Schema"

const describe = (ast: SchemaAST.AST): string => {
  if (SchemaAST.isString(ast)) return "a string"
  if (SchemaAST.isNumber(ast)) return "a number"
  if (SchemaAST.isBoolean(ast)) return "a boolean"
  if (SchemaAST.isNull(ast)) return "null"
  if (SchemaAST.isArrays(ast)) return "an array"
  if (SchemaAST.isObjects(ast)) return "an object"
  if (SchemaAST.isLiteral(ast)) return JSON.stringify(ast.literal)
  if (SchemaAST.isUnion(ast)) return ast.types.map(describe).join(" or ")
  return "a valid value"
}

const leafHook: SchemaIssue.LeafHook = (issue) => {
  switch (issue._tag) {
    case "MissingKey":
      return "is required"
    case "InvalidType": {
      const message = issue.ast.annotations?.message
      return typeof message === "string" ? message : `must be ${describe(issue.ast)}`
    }
    default:
      return SchemaIssue.defaultLeafHook(issue)
  }
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({ leafHook })

const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path
    .map((segment) => (typeof segment === "object" ? segment.key : segment))
    .reduce<string>(
      (acc, key) =>
        typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`,
      ""
    )

// Built-in messages read "Expected …"; ours read "must be …".
const normalise = (message: string): string =>
  message.startsWith("Expected ") ? `must be ${message.slice("Expected ".length)}` : message

/**
 * The first problem of a decoding failure as `"<field> is required"` or `"<field>: <rule>"`.
 * `subject` names the value itself when the problem is at the root (e.g. `"body"`, `"id"`).
 */
export const schemaErrorMessage = (error: SchemaError | SchemaIssue.Issue, subject = "value"): string => {
  const issue = SchemaIssue.isIssue(error) ? error : error.issue
  const first = formatter(issue).issues[0]
  if (first === undefined) return `${subject}: invalid`
  const path = formatPath(first.path ?? [])
  const message = normalise(first.message)
  if (message === "is required") return `${path === "" ? subject : path} is required`
  return `${path === "" ? subject : path}: ${message}`
}
