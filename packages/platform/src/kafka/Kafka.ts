/**
 * Kafka connectivity (kafkajs): the client from `KAFKA_BROKERS`, an idempotent producer and an
 * admin client, each connected in a Layer and disconnected when its scope closes.
 */
import { Config, Context, Effect, Layer, Predicate, Schedule, Schema } from "effect"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import type { Admin, IHeaders, Producer } from "kafkajs"

export class KafkaError extends Schema.TaggedError<KafkaError>()("KafkaError", {
  op: Schema.String,
  cause: Schema.Defect()
}) {}

export const KafkaBrokersConfig = Config.String("KAFKA_BROKERS").pipe(
  Config.withDefault("127.0.0.1:9092"),
  Config.map((list) => list.split(",").map((broker) => broker.trim()).filter((broker) => broker.length > 0))
)

export class KafkaClient extends Context.Service<KafkaClient, Kafka>()("pylon/platform/KafkaClient") {
  static readonly layerWith = (options: { readonly brokers: ReadonlyArray<string>; readonly clientId: string }) =>
    Layer.succeed(
      KafkaClient,
      new Kafka({
        clientId: options.clientId,
        brokers: [...options.brokers],
        logLevel: logLevel.WARN,
        retry: { retries: 5, initialRetryTime: 200 }
      })
    )

  static readonly layer = (clientId: string) =>
    Layer.unwrap(Effect.gen(function*() {
      return KafkaClient.layerWith({ brokers: yield* KafkaBrokersConfig, clientId })
    }))
}

const attempt = <A>(op: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => new KafkaError({ op, cause }) })

const connecting = new WeakMap<Producer, Promise<void>>()
const connected = new WeakSet<Producer>()

/** Whether `producer` finished `connectProducer` and has not disconnected since. */
export const isProducerConnected = (producer: Producer): boolean => connected.has(producer)

/**
 * Connects `producer`, sharing one attempt between concurrent callers: kafkajs breaks when an
 * idempotent producer's `connect` runs twice at once (its producer-id lock is released twice).
 */
export const connectProducer = (producer: Producer): Promise<void> => {
  const inFlight = connecting.get(producer)
  if (inFlight !== undefined) return inFlight
  const attempt = producer.connect()
    .then(() => {
      connected.add(producer)
    })
    .finally(() => connecting.delete(producer))
  connecting.set(producer, attempt)
  return attempt
}

export class KafkaProducer extends Context.Service<KafkaProducer, Producer>()("pylon/platform/KafkaProducer") {
  static readonly layer = Layer.effect(
    KafkaProducer,
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const producer = yield* Effect.acquireRelease(
        Effect.sync(() =>
          kafka.producer({
            idempotent: true,
            maxInFlightRequests: 1,
            createPartitioner: Partitioners.DefaultPartitioner
          })
        ),
        (producer) => Effect.promise(() => producer.disconnect()).pipe(Effect.timeout("5 seconds"), Effect.ignore)
      )
      producer.on(producer.events.DISCONNECT, () => connected.delete(producer))
      // Connect in the background and keep trying: a broker that is down at start must not stop
      // the service from starting (sends are durable in the outbox; publishing resumes later).
      yield* attempt("producer.connect", () => connectProducer(producer)).pipe(
        Effect.tapError((error) => Effect.logWarning("Kafka producer not connected yet; retrying", error.cause)),
        Effect.retry(Schedule.min([Schedule.exponential("500 millis"), Schedule.spaced("10 seconds")])),
        Effect.forkScoped
      )
      return producer
    })
  )
}

export class KafkaAdmin extends Context.Service<KafkaAdmin, Admin>()("pylon/platform/KafkaAdmin") {
  static readonly layer = Layer.effect(
    KafkaAdmin,
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      return yield* Effect.acquireRelease(
        Effect.gen(function*() {
          const admin = kafka.admin()
          yield* attempt("admin.connect", () => admin.connect())
          return admin
        }),
        (admin) => Effect.promise(() => admin.disconnect()).pipe(Effect.timeout("5 seconds"), Effect.ignore)
      )
    })
  )
}

/** Readiness probe: the cluster answers a metadata request. */
export const kafkaReady = Effect.gen(function*() {
  const admin = yield* KafkaAdmin
  yield* attempt("admin.describeCluster", () => admin.describeCluster())
})

/** Kafka record headers as text (first value of each), for trace context and `event_type`. */
export const headersAsText = (headers: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value
    if (first !== undefined) out[name] = first.toString()
  }
  return out
}

/** A Kafka client failure's message (kafkajs throws `Error`s; anything else is stringified). */
export const kafkaErrorMessage = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && Predicate.isString(cause.message) ? cause.message : String(cause)
