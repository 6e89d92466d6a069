/**
 * The one mapping layer between the generated protobuf messages of the Connect surface
 * (`@pylon/proto-gen`, CONNECT-COMPAT.md) and the contract values services speak over Effect
 * RPC (`@pylon/contracts`). Used only at the Connect edge; one module per proto package.
 * Requests: `…FromProto(message, caller)` → the RPC payload (validated by the contract Schema,
 * caller fields checked against the bearer token's subject). Responses: `…ToProto(value)`.
 * Every direction is property-tested to round-trip (test/ProtoMapping.test.ts).
 */
export * as AuthMapping from "./mapping/AuthMapping.ts"
export * as ChatMapping from "./mapping/ChatMapping.ts"
export * as NotificationMapping from "./mapping/NotificationMapping.ts"
export * as PresenceMapping from "./mapping/PresenceMapping.ts"
export * as RoomMapping from "./mapping/RoomMapping.ts"
export type { MappingError } from "./mapping/Common.ts"
