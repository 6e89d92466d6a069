/** The deployment environment (`APP_ENV`): which defaults a process may use and which checks it applies. */
import { Schema } from "effect"

export const AppEnv = Schema.Literals(["development", "test", "production"])
export type AppEnv = typeof AppEnv.Type
