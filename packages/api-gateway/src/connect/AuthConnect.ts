/**
 * `pylon.auth.v1.AuthService` and `pylon.gateway.v1.GatewayService` over Connect: the same
 * AuthService calls, rate-limit buckets (by client address) and errors as the REST auth routes
 * (AuthHttp.ts), converted at the edge by the mapping layer. Unauthenticated, as their REST routes.
 */
import type { ServiceImpl } from "@connectrpc/connect"
import { Effect } from "effect"
import { AuthService as AuthServiceDesc } from "@pylon/proto-gen/auth/v1/auth"
import { GatewayService as GatewayServiceDesc } from "@pylon/proto-gen/gateway/v1/gateway"
import { AuthService } from "../auth/AuthService.ts"
import { authResultOf, tokenPairOf } from "../auth/ContractValues.ts"
import { failWithHttpError } from "../http/HttpErrors.ts"
import { requestClientAddress } from "../http/RateLimitGuard.ts"
import { effectMethod, spendBudget } from "./ConnectBridge.ts"
import { AuthMapping } from "./ProtoMapping.ts"

/** The REST auth budget of the caller's address. */
const spendAddressBudget = (bucket: "register" | "login" | "refresh") =>
  Effect.flatMap(requestClientAddress, (address) => spendBudget(bucket, address))

const rotate = (refreshToken: string) =>
  Effect.gen(function*() {
    yield* spendAddressBudget("refresh")
    const auth = yield* AuthService
    return yield* auth.refresh(refreshToken).pipe(failWithHttpError)
  })

export const authServiceImpl: ServiceImpl<typeof AuthServiceDesc> = {
  register: effectMethod((request) =>
    Effect.gen(function*() {
      yield* spendAddressBudget("register")
      const input = yield* AuthMapping.registerRequestFromProto(request).pipe(failWithHttpError)
      const auth = yield* AuthService
      const session = yield* auth.register(input).pipe(failWithHttpError)
      return AuthMapping.registerResponseToProto(authResultOf(session))
    })
  ),
  login: effectMethod((request) =>
    Effect.gen(function*() {
      yield* spendAddressBudget("login")
      const input = yield* AuthMapping.loginRequestFromProto(request).pipe(failWithHttpError)
      const auth = yield* AuthService
      const session = yield* auth.login(input).pipe(failWithHttpError)
      return AuthMapping.loginResponseToProto(authResultOf(session))
    })
  ),
  refreshToken: effectMethod((request) =>
    Effect.gen(function*() {
      const input = yield* AuthMapping.refreshRequestFromProto(request).pipe(failWithHttpError)
      const session = yield* rotate(input.refresh_token)
      return AuthMapping.tokenPairToProto(tokenPairOf(session))
    })
  )
}

export const gatewayServiceImpl: ServiceImpl<typeof GatewayServiceDesc> = {
  /** Checked exactly like a bearer token; any refusal is `valid = false`, an outage is `unavailable`. */
  validateToken: effectMethod((request) =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const claims = yield* auth.authenticate(request.token).pipe(
        Effect.catchTag("Unauthorized", () => Effect.succeed(null)),
        failWithHttpError
      )
      return AuthMapping.validateTokenResponseToProto(claims)
    })
  ),
  refreshToken: effectMethod((request) =>
    Effect.gen(function*() {
      const input = yield* AuthMapping.refreshRequestFromProto(request).pipe(failWithHttpError)
      const session = yield* rotate(input.refresh_token)
      return AuthMapping.gatewayTokenPairToProto(tokenPairOf(session))
    })
  )
}
