/**
 * The four protocols the gateway's Connect surface serves (CONNECT-COMPAT.md rule 5), each as a
 * `@connectrpc/connect-node` transport for a base URL: Connect JSON, Connect binary and gRPC-Web
 * over HTTP/1.1, and gRPC over HTTP/2 cleartext.
 */
import type { Transport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node"

export const connectProtocols: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["Connect binary", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["gRPC (HTTP/2 cleartext)", (baseUrl) => createGrpcTransport({ baseUrl })]
]
