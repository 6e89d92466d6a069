/** The names of the `RealtimeBus` channels, and what each one carries. */

/** Messages of one room, serialised once by the gateway that accepted them. */
export const roomChannel = (roomId: string): string => `pylon:room:${roomId}`
/** Frames for one user's sockets on whichever nodes hold them (notifications). */
export const userChannel = (userId: string): string => `pylon:user:${userId}`
/** Presence changes of every user: JSON `UserPresence` (contracts/Presence.ts), one per change. */
export const PRESENCE_CHANNEL = "pylon:presence"
/** Revoked session ids, one per publish: every gateway ends that session's sockets (SessionRevocations). */
export const SESSION_REVOKED_CHANNEL = "pylon:sessions:revoked"
