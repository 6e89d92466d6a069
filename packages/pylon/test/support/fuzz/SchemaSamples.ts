/**
 * Bridges the contract Schemas into fast-check. Effect derives generators from a Schema
 * (`Arbitrary.schema`); fast-check drives the campaign (seed, replay). Each fast-check value is
 * a 31-bit seed that deterministically picks one Schema-derived sample, so a campaign seed still
 * replays every case exactly.
 *   - `validJson(schema)`: a value of the decoded `Type` (every check holds), encoded back to
 *     the JSON a client sends — what the server must accept (or refuse for a domain reason).
 *   - `shapedJson(schema)`: a value of the `Encoded` side — the right keys and JSON types, but
 *     string contents unconstrained (no pattern, length or range checks apply there).
 */
import { Arbitrary, Effect, Schema } from "effect"
import fc from "fast-check"

const SEED = fc.integer({ min: 0, max: 0x7fff_ffff })

/** One sample of `arbitrary` for `seed` at complexity `size`. */
const sampleOne = <A>(arbitrary: Arbitrary.Arbitrary<A>, seed: number, size: number): A => {
  const [value] = Effect.runSync(Arbitrary.sampleEffect(arbitrary, { count: 1, seed, size }))
  if (value === undefined) throw new Error("Arbitrary.sampleEffect returned no sample")
  return value
}

/** A JSON-ready value of `schema`'s decoded type, encoded to its wire form. */
export const validJson = <S extends Schema.Codec<unknown, unknown>>(schema: S, size = 12): fc.Arbitrary<unknown> => {
  const arbitrary = Arbitrary.schema(schema)
  const encode = Schema.encodeSync(schema)
  return fc.noShrink(SEED.map((seed) => encode(sampleOne(arbitrary, seed, size))))
}

/** A value with `schema`'s wire shape whose contents ignore every check (mostly invalid). */
export const shapedJson = <S extends Schema.Codec<unknown, unknown>>(schema: S, size = 12): fc.Arbitrary<unknown> => {
  const arbitrary = Arbitrary.schema(Schema.toEncoded(schema))
  return fc.noShrink(SEED.map((seed) => sampleOne(arbitrary, seed, size)))
}
