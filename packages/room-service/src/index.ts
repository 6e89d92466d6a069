/** The room service (API.md §4): rooms and membership behind `RoomRpcs`. */
export { escapeLikePattern, PgRoomRepository } from "./PgRoomRepository.ts"
export { RoomHandlersLive } from "./RoomHandlers.ts"
export { directKeyOf, DirectRoomTaken, RoomRepository } from "./RoomRepository.ts"
export type { NewMember, NewRoom, RoomAccess } from "./RoomRepository.ts"
export { RoomService } from "./RoomService.ts"
export type { ChannelSearch } from "./RoomService.ts"
export { roomServiceApp, RoomServiceLive, SERVICE_NAME } from "./RoomServiceApp.ts"
