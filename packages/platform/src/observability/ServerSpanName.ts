/**
 * HTTP server spans named `METHOD /route/{param}` (OpenTelemetry's `{method} {http.route}`).
 * Effect's server tracer creates the span before routing, named after the method alone
 * (`HttpMiddleware.SpanNameGenerator` sees only the request); once the router has matched, the
 * envelope middleware renames it with the route template. Requests no route matched keep `METHOD`.
 */
import { Effect, Option } from "effect"
import type { Tracer } from "effect"
import { currentLocalSpan } from "./CurrentSpan.ts"

/** `/api/v1/rooms/:roomId` → `/api/v1/rooms/{roomId}` (find-my-way's `:param` and `:param?`). */
export const routeTemplate = (path: string): string => path.replace(/:([A-Za-z0-9_]+)\??/g, "{$1}")

export const serverSpanName = (method: string, routePath: string): string => `${method} ${routeTemplate(routePath)}`

/** The server span of the current request, if it is still named after the method only. */
export const currentServerSpan = (method: string): Effect.Effect<Option.Option<Tracer.Span>> =>
  Effect.map(currentLocalSpan, Option.filter((span) => span.kind === "server" && span.name === method))

/**
 * Renames the span. `Tracer.Span#name` is read-only in its type but a plain field of every tracer's
 * span object, and exporters read it when the span ends, which is after this.
 */
export const renameSpan = (span: Tracer.Span, name: string): Effect.Effect<void> =>
  Effect.sync(() => {
    Reflect.set(span, "name", name)
  })
