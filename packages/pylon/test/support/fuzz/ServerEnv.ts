/**
 * How a server under fuzz is configured: rate limits raised out of the way (a fuzz campaign is
 * thousands of requests a minute from one user and one address; 429s would hide every other
 * answer), access tokens that outlive a long run, and a known JWT secret so the fuzzer can mint
 * "signed but wrong" tokens. Everything else is the topology's default.
 */
import { RateLimitBucket } from "@pylon/platform/ratelimit/RateLimitConfig"

const HIGH_LIMIT = "100000000"

/** `createRoom` → `RATE_LIMIT_CREATE_ROOM`: the variable of each bucket (API.md §7). */
const rateLimitVariable = (bucket: string) => `RATE_LIMIT_${bucket.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

export const fuzzServerEnv = (jwtSecret: string): Record<string, string> => ({
  JWT_SECRET: jwtSecret,
  JWT_EXPIRY: "24 hours",
  ...Object.fromEntries(RateLimitBucket.literals.map((bucket) => [rateLimitVariable(bucket), HIGH_LIMIT]))
})
