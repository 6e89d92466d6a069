/**
 * The test database behind a TcpProxy a test can cut: `ProxiedDatabase` provides a SQL client
 * (`PgClient`/`SqlClient`) that reaches the `TestDatabase` only through the proxy, and the proxy
 * itself (`DatabaseProxy`), so a test makes PostgreSQL unreachable for the code under test while
 * its own fixtures keep using the direct client.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { startTcpProxy } from "./TcpProxy.ts"
import type { TcpProxy } from "./TcpProxy.ts"
import { TestDatabaseInfo } from "./TestDatabase.ts"

export class DatabaseProxy extends Context.Service<DatabaseProxy, TcpProxy>()("pylon/testkit/DatabaseProxy") {}

const ProxyLive = Layer.effect(
  DatabaseProxy,
  Effect.gen(function*() {
    const url = new URL(Redacted.value((yield* TestDatabaseInfo).url))
    return yield* startTcpProxy(url.hostname, Number(url.port || 5432))
  })
)

/** A SQL client on the test database through the proxy (short connect timeout), and the proxy. */
export const ProxiedDatabase = Layer.unwrap(Effect.gen(function*() {
  const proxy = yield* DatabaseProxy
  const url = new URL(Redacted.value((yield* TestDatabaseInfo).url))
  url.hostname = proxy.host
  url.port = String(proxy.port)
  return PgClient.layer({
    url: Redacted.make(url.toString()),
    maxConnections: 2,
    applicationName: "pylon-test-proxied",
    connectTimeout: Duration.seconds(2)
  }).pipe(Layer.provide(Reactivity.layer))
})).pipe(Layer.provideMerge(ProxyLive))
