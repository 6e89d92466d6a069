/**
 * `@pylon/platform`: the infrastructure every process shares, one folder per concern:
 * `http/` (server, envelope, decoding, CORS, client address, config), `sql/` (PostgreSQL, PGlite,
 * migrations, SQL failures), `redis/`, `kafka/`, `bus/` (`RealtimeBus`: the room, user, presence
 * and revocation pub/sub and its memory and Redis twins), `events/` (domain event publishing:
 * memory and Kafka twins),
 * `ratelimit/` (port, memory and Redis twins), `rpc/` (authenticated internal RPC),
 * `observability/` (OTLP, `/metrics`) and `runtime/` (backoff, draining, ids, secrets, failure text).
 *
 * Import a module by its path (`@pylon/platform/http/HttpEnvelope`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
