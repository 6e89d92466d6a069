import { defineConfig } from "vitest/config"

// One vitest run covers unit and integration tests of every package.
// Integration tests talk to the real PostgreSQL, Redis and Kafka that scripts/pylon.sh starts.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default"]
  }
})
