import { Arbitrary, Effect } from "effect"
import * as C from "./src/index.ts"
const targets: Record<string, any> = { UserId: C.UserId, Timestamp: C.Timestamp, User: C.User, Room: C.Room, Message: C.Message, ClientFrame: C.ClientFrame, ServerFrame: C.ServerFrame, RegisterRequest: C.RegisterRequest, CreateRoomRequest: C.CreateRoomRequest, GetMessagesQuery: C.GetMessagesQuery, NotificationsQuery: C.NotificationsQuery, MessageCreatedEvent: C.MessageCreatedEvent, AuthResult: C.AuthResult, DomainError: C.DomainError }
for (const [name, s] of Object.entries(targets)) {
  try {
    const t0 = Date.now()
    const xs = Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(s), { numRuns: 50 } as any))
    console.log(name, "ok", Date.now() - t0, "ms", JSON.stringify(xs[xs.length - 1])?.slice(0, 200))
  } catch (e) { console.log(name, "FAIL", String(e).slice(0, 300)) }
}
