/**
 * Redis connection for the services that need one (rate limits, pub/sub fan-out, presence).
 * One ioredis client per layer, closed with `quit` when the layer's scope ends.
 */
import { Config, Context, Effect, Layer, Redacted, Schema } from "effect"
import type { Scope } from "effect"
import { Redis as IORedis } from "ioredis"

export class RedisError extends Schema.TaggedError<RedisError>()("RedisError", {
  op: Schema.String,
  cause: Schema.Defect()
}) {}

export interface RedisService {
  /** The raw ioredis client; adapters wrap its calls with `RedisClient.use`. */
  readonly client: IORedis
  /** Runs one client call, turning a rejection into a typed `RedisError`. */
  readonly use: <A>(op: string, f: (client: IORedis) => Promise<A>) => Effect.Effect<A, RedisError>
  /** Opens an extra connection (subscribers need their own); closed with the caller's scope. */
  readonly duplicate: Effect.Effect<IORedis, RedisError, Scope.Scope>
}

export const RedisConfig = Config.Redacted("REDIS_URL").pipe(
  Config.withDefault(Redacted.make("redis://127.0.0.1:6380"))
)

const connect = (client: IORedis) =>
  Effect.tryPromise({ try: () => client.connect(), catch: (cause) => new RedisError({ op: "connect", cause }) })

const release = (client: IORedis) =>
  Effect.promise(() => client.quit().catch(() => client.disconnect())).pipe(
    Effect.timeout("2 seconds"),
    Effect.ignore
  )

export class RedisClient extends Context.Service<RedisClient, RedisService>()("pylon/platform/RedisClient") {
  static readonly layerFromUrl = (url: Redacted.Redacted<string>) =>
    Layer.effect(
      RedisClient,
      Effect.gen(function*() {
        const client = yield* Effect.acquireRelease(
          Effect.sync(() =>
            new IORedis(Redacted.value(url), {
              lazyConnect: true,
              maxRetriesPerRequest: 2,
              enableOfflineQueue: true,
              connectionName: "pylon"
            })
          ),
          release
        )
        // Without a listener ioredis prints every reconnect error; readiness reports the state instead.
        client.on("error", () => undefined)
        yield* connect(client)
        const use = <A>(op: string, f: (c: IORedis) => Promise<A>) =>
          Effect.tryPromise({ try: () => f(client), catch: (cause) => new RedisError({ op, cause }) })
        const duplicate = Effect.acquireRelease(
          Effect.sync(() => client.duplicate({ lazyConnect: true })),
          release
        ).pipe(Effect.tap((c) => {
          c.on("error", () => undefined)
          return connect(c)
        }))
        return RedisClient.of({ client, use, duplicate })
      })
    )

  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    return RedisClient.layerFromUrl(yield* RedisConfig)
  }))
}
