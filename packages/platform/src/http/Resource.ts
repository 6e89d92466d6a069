/** How a Pylon route is declared: one path, a handler per method, `405` for the others. */
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { HttpFailure } from "./HttpEnvelope.ts"

export const RESOURCE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const
export type ResourceMethod = typeof RESOURCE_METHODS[number]

export type ResourceHandlers<E, R> = Partial<
  Record<ResourceMethod, Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>>
>

/** Registers one path with a handler per method; other methods get `405 method_not_allowed`. */
export const resource = <E, R>(path: HttpRouter.PathInput, handlers: ResourceHandlers<E, R>) =>
  HttpRouter.add(
    "*",
    path,
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request): Effect.Effect<HttpServerResponse.HttpServerResponse, E | HttpFailure, R> => {
        const handler = handlers[request.method as keyof typeof handlers]
        return handler ?? Effect.fail(HttpFailure.of("method_not_allowed", `method ${request.method} not allowed`))
      }
    )
  )
