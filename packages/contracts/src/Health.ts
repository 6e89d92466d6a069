/** Bodies of the operational endpoints every service exposes (API.md §2). */
import { Schema } from "effect"

/** `GET /health` data: liveness only, no dependency checks. */
export const HealthResponse = Schema.Struct({
  service: Schema.String,
  status: Schema.Literal("ok")
})
export type HealthResponse = typeof HealthResponse.Type
