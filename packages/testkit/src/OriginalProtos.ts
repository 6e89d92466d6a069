/**
 * A client of the ORIGINAL Pylon protos: the frozen compatible image proto/compat/pylon-v1.binpb
 * that `buf breaking` checks proto/ against, used with no change. It knows no field Pylon added,
 * so a request carries only original fields and an answer decodes to original fields only (Pylon's
 * additions are unknown fields to it). Requests and answers are each method's proto JSON: what
 * the original message type makes of the wire, over any Connect transport (Connect JSON or
 * binary, gRPC-Web, gRPC).
 */
import { createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf"
import type { DescMethod, DescMethodServerStreaming, DescMethodUnary, JsonObject, JsonValue } from "@bufbuild/protobuf"
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import type { Transport } from "@connectrpc/connect"
import { createAsyncIterable } from "@connectrpc/connect/protocol"
import { Effect } from "effect"
import { readFileSync } from "node:fs"

export type { JsonObject } from "@bufbuild/protobuf"

/** The original protos' services and message types. */
export const originalProtos = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(new URL("../../../proto/compat/pylon-v1.binpb", import.meta.url)))
)

const isObject = (json: JsonValue | undefined): json is JsonObject =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const methodOf = (rpc: string): DescMethod => {
  const [service, name] = rpc.split("/")
  const method = originalProtos.getService(service ?? "")?.methods.find((m) => m.name === name)
  if (method === undefined) throw new Error(`${rpc} is not an RPC of the original protos`)
  return method
}

const isUnary = (method: DescMethod): method is DescMethodUnary => method.methodKind === "unary"
const isServerStreaming = (method: DescMethod): method is DescMethodServerStreaming =>
  method.methodKind === "server_streaming"

const asObject = (json: JsonValue): JsonObject => {
  if (!isObject(json)) throw new Error(`not a JSON object: ${JSON.stringify(json)}`)
  return json
}

const headersOf = (token: string | undefined) => token === undefined ? undefined : { authorization: `Bearer ${token}` }

/** One unary call (`rpc` is "package.Service/Method"), with the access token if given. */
export const originalUnary = (transport: Transport, rpc: string, input: JsonObject, token?: string) =>
  Effect.promise(async (): Promise<JsonObject> => {
    const method = methodOf(rpc)
    if (!isUnary(method)) throw new Error(`${rpc} is not a unary RPC`)
    const response = await transport.unary(method, undefined, undefined, headersOf(token), fromJson(method.input, input))
    return asObject(toJson(method.output, response.message))
  })

/** A server-streaming call, cancelled by `signal`: every message it delivers, as JSON. */
export const originalServerStream = (
  transport: Transport,
  rpc: string,
  input: JsonObject,
  token: string,
  signal: AbortSignal
): AsyncIterable<JsonObject> => ({
  async *[Symbol.asyncIterator]() {
    const method = methodOf(rpc)
    if (!isServerStreaming(method)) throw new Error(`${rpc} is not a server-streaming RPC`)
    const request = createAsyncIterable([fromJson(method.input, input)])
    const response = await transport.stream(method, signal, undefined, headersOf(token), request)
    for await (const message of response.message) yield asObject(toJson(method.output, message))
  }
})

/** `json[key]` if it is a string. */
export const text = (json: JsonObject, key: string): string => {
  const value = json[key]
  if (typeof value !== "string") throw new Error(`${key} is not a string in ${JSON.stringify(json)}`)
  return value
}

/** `json[key]` if it is an object. */
export const object = (json: JsonObject, key: string): JsonObject => {
  const value = json[key]
  if (!isObject(value)) throw new Error(`${key} is not an object in ${JSON.stringify(json)}`)
  return value
}

/** `json[key]` if it is a list of objects; an absent key is the empty list (proto3 JSON omits it). */
export const objects = (json: JsonObject, key: string): ReadonlyArray<JsonObject> => {
  const value = json[key]
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every(isObject)) throw new Error(`${key} is not a list of objects in ${JSON.stringify(json)}`)
  return value
}
