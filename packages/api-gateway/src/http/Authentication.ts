/**
 * Bearer authentication for the gateway's HTTP surfaces. REST routes that need a caller are
 * declared with `authenticatedResource`: its middleware verifies the `Authorization: Bearer`
 * token once, before the handler runs, and provides the caller's claims as `CurrentUser`; a
 * missing or invalid token is `401 unauthorized` and the handler never runs. A handler that
 * reads `CurrentUser` cannot be registered without that middleware (the type would not check).
 *
 * Method dispatch comes first (`Resource.ts`), so a wrong method is `405` even without a token.
 * That is why the middleware wraps each method's handler rather than the route as an
 * `HttpRouter.middleware` (which would run before dispatch and answer 401 instead); see
 * docs/adr/0008-rest-routes-and-httpapi.md. Connect handlers, which have their own dispatch,
 * use `requireAuth` directly. Query-string tokens are not accepted here (only on `/ws`).
 */
import { Context, Effect } from "effect"
import { HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { resource, RESOURCE_METHODS } from "@pylon/platform/http/Resource"
import type { ResourceHandlers } from "@pylon/platform/http/Resource"
import { AuthService } from "../auth/AuthService.ts"
import { failWithHttpError } from "./HttpErrors.ts"

/** The authenticated caller of the current request (its access-token claims). */
export class CurrentUser extends Context.Service<CurrentUser, AccessTokenClaims>()("pylon/gateway/CurrentUser") {}

/** The bearer token's claims, or 401. */
export const requireAuth = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const header = request.headers["authorization"] ?? ""
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (match === null || match[1] === undefined) return yield* HttpFailure.unauthorized("missing bearer token")
  const auth = yield* AuthService
  return yield* auth.authenticate(match[1]).pipe(failWithHttpError)
})

/** The middleware: authenticates, then runs `handler` with `CurrentUser` provided. */
export const authenticated = <E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E | HttpFailure,
  Exclude<R, CurrentUser> | AuthService | HttpServerRequest.HttpServerRequest
> => Effect.flatMap(requireAuth, (claims) => Effect.provideService(handler, CurrentUser, claims))

/** `resource` whose every method runs behind `authenticated`. */
export const authenticatedResource = <E, R>(path: `/${string}`, handlers: ResourceHandlers<E, R>) => {
  const guarded: ResourceHandlers<E | HttpFailure, Exclude<R, CurrentUser> | AuthService | HttpServerRequest.HttpServerRequest> = {}
  for (const method of RESOURCE_METHODS) {
    const handler = handlers[method]
    if (handler !== undefined) guarded[method] = authenticated(handler)
  }
  return resource(path, guarded)
}
