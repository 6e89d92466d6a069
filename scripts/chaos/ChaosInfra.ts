/**
 * Stops and starts the run's private PostgreSQL, Redis and Kafka through `scripts/infra.sh`
 * (whose PYLON_INFRA_STATE / PYLON_*_PORT variables the caller exported, so the shared
 * instances are never touched). A Kafka restart keeps its log dir (PYLON_KAFKA_KEEP_DATA=1):
 * topics and consumer offsets survive, as they would on a real broker.
 */
import { spawn } from "node:child_process"
import { appendFileSync } from "node:fs"
import * as NodePath from "node:path"
import { Effect, Schema } from "effect"

export type InfraService = "postgres" | "redis" | "kafka"

export class InfraError extends Schema.TaggedError<InfraError>()("InfraError", {
  message: Schema.String
}) {}

const INFRA_SH = NodePath.resolve(import.meta.dirname, "../infra.sh")

/** Refuses to act on the shared instances: the private set must be configured. */
export const assertPrivateInfra = (env: NodeJS.ProcessEnv) =>
  env.PYLON_INFRA_STATE === undefined || env.PYLON_INFRA_STATE === ""
    ? Effect.fail(new InfraError({ message: "PYLON_INFRA_STATE is not set: the chaos run only stops infrastructure of its own (run it through `npm run chaos`)" }))
    : Effect.void

export const infraCommand = (action: "up" | "down", service: InfraService, logFile: string) =>
  Effect.callback<void, InfraError>((resume) => {
    const child = spawn("bash", [INFRA_SH, action, service], {
      env: { ...process.env, PYLON_KAFKA_KEEP_DATA: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const append = (chunk: Buffer) => appendFileSync(logFile, chunk)
    child.stdout.on("data", append)
    child.stderr.on("data", append)
    child.once("error", (error) => resume(Effect.fail(new InfraError({ message: `infra.sh ${action} ${service}: ${error.message}` }))))
    child.once("exit", (code) =>
      resume(code === 0 ? Effect.void : Effect.fail(new InfraError({ message: `infra.sh ${action} ${service} exited with ${code}` }))))
  })
