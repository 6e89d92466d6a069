/**
 * `@pylon/testkit`: test support shared across packages, so no test reaches into another
 * package's `test/` or `src/`. Import a module by path (`@pylon/testkit/TestDatabase`); the
 * modules are not re-exported here because some load heavy clients (kafkajs, ws) on import.
 * Every dependency is a devDependency: production installs skip this package's graph.
 *
 * - `TestDatabase`: a fresh, migrated PostgreSQL database per test file
 * - `TcpProxy`, `ProxiedDatabase`: a TCP proxy a test can cut, to make PostgreSQL or Kafka unreachable
 * - `KafkaTopicReader`, `EventPublisherContract`: reading topics back; the EventPublisher suite
 * - `ChatFixtures`: users, rooms and an in-process chat client on a test database
 * - `Rest`, `WsClient`: a REST client and a WebSocket client for end-to-end tests
 * - `StreamReader`: reading a server stream in the background
 * - `ConnectProtocols`: the Connect surface's four protocols as transports
 * - `OriginalProtos`: a client of the original Pylon protos (the frozen image), unary and streams
 */
export {}
