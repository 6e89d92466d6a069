/**
 * argon2id password hashing (OWASP parameters: 19 MiB, 2 passes). `verifyOrBurn` spends the same
 * time when there is no stored hash, so login timing does not reveal whether an email exists.
 */
import * as NodeArgon2 from "@node-rs/argon2"
import { Context, Effect, Layer } from "effect"

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

/** The argon2 primitives the hasher runs (the native binding; tests wrap it to count calls). */
export interface Argon2 {
  readonly hash: (password: string, options: typeof OPTIONS) => Promise<string>
  readonly verify: (hashed: string, password: string) => Promise<boolean>
}

export class PasswordHasher extends Context.Service<PasswordHasher, {
  readonly hash: (password: string) => Effect.Effect<string>
  /** Verifies against `stored`, or against a dummy hash when there is none (always false then). */
  readonly verifyOrBurn: (stored: string | undefined, password: string) => Effect.Effect<boolean>
}>()("pylon/gateway/PasswordHasher") {
  static readonly layerWith = (argon2: Argon2) => Layer.effect(
    PasswordHasher,
    Effect.gen(function*() {
      const dummy = yield* Effect.promise(() => argon2.hash(crypto.randomUUID(), OPTIONS))
      const verifyHash = (stored: string, password: string) =>
        Effect.promise(() => argon2.verify(stored, password).catch(() => false))
      return PasswordHasher.of({
        hash: Effect.fn("PasswordHasher.hash")((password: string) => Effect.promise(() => argon2.hash(password, OPTIONS))),
        verifyOrBurn: Effect.fn("PasswordHasher.verify")(function*(stored: string | undefined, password: string) {
          if (stored === undefined) {
            yield* verifyHash(dummy, password)
            return false
          }
          return yield* verifyHash(stored, password)
        })
      })
    })
  )
  static readonly layer = PasswordHasher.layerWith({ hash: NodeArgon2.hash, verify: NodeArgon2.verify })
}
