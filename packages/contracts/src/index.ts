/**
 * `@pylon/contracts`: every shape that crosses a process boundary — REST bodies, WebSocket
 * frames, internal RPC groups, Kafka events and the typed errors — as Effect Schemas.
 * Import a module by path (`@pylon/contracts/WsFrames`) or any name from here.
 */
export * from "./Auth.ts"
export * from "./ChatRpcs.ts"
export * from "./Envelope.ts"
export * from "./ErrorMapping.ts"
export * from "./Errors.ts"
export * from "./Events.ts"
export * from "./Health.ts"
export * from "./Ids.ts"
export * from "./InternalAuth.ts"
export * from "./Messages.ts"
export * from "./NotificationRpcs.ts"
export * from "./Notifications.ts"
export * from "./Numbers.ts"
export * from "./Presence.ts"
export * from "./PresenceRpcs.ts"
export * from "./QueryParams.ts"
export * from "./RoomRpcs.ts"
export * from "./Rooms.ts"
export * from "./SchemaErrorMessage.ts"
export * from "./Text.ts"
export * from "./Time.ts"
export * from "./WsFrames.ts"
