/**
 * The client's Connect calls without a browser: generated clients over an in-memory Connect
 * server (`createRouterTransport`) that checks the bearer token like the gateway. A stale token
 * is renewed once after `unauthenticated` and the call made again; a session that cannot be
 * renewed, and every Connect error code, come back as the `ApiError` (code and text) the page
 * shows for the same REST error.
 */
import { describe, expect, it } from "@effect/vitest"
import { timestampFromMs } from "@bufbuild/protobuf/wkt"
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect"
import type { ConnectRouter, HandlerContext, Interceptor } from "@connectrpc/connect"
import { ChatService, MessageType } from "@pylon/proto-gen/chat/v1/chat"
import { RoomService, RoomType } from "@pylon/proto-gen/room/v1/room"
import { apiErrorOf } from "../src/api/Connect.ts"
import { restErrorText } from "../src/api/ErrorText.ts"
import { PylonRpc } from "../src/api/PylonRpc.ts"
import type { BearerSource } from "../src/api/PylonRpc.ts"
import { ApiError } from "../src/api/Rest.ts"

const GOOD = "good-token"

/** A session whose token starts `initial`; `renew` moves it to GOOD (or fails, like an ended session). */
const fakeSession = (initial: string, renewal: "works" | "ended") => {
  const state = { token: initial, renewals: 0 }
  const session: BearerSource = {
    token: () => Promise.resolve(state.token),
    renew: () => {
      state.renewals += 1
      if (renewal === "ended") return Promise.reject(new ApiError("unauthorized", 401, "Your session has ended. Please sign in again."))
      state.token = GOOD
      return Promise.resolve()
    },
    get current() {
      return { token: state.token }
    }
  }
  return { session, state }
}

const authorized = (context: HandlerContext): void => {
  if (context.requestHeader.get("authorization") !== `Bearer ${GOOD}`) throw new ConnectError("invalid token", Code.Unauthenticated)
}

const rpcOver = (session: BearerSource, routes: (router: ConnectRouter) => void): PylonRpc =>
  new PylonRpc(session, (interceptors: ReadonlyArray<Interceptor>) => createRouterTransport(routes, { transport: { interceptors: [...interceptors] } }))

const roomRoutes = (calls: Array<string>) => (router: ConnectRouter) => {
  router.service(RoomService, {
    listRooms: (_request, context) => {
      calls.push(context.requestHeader.get("authorization") ?? "")
      authorized(context)
      return {
        rooms: [{
          id: "r1",
          name: "general",
          type: RoomType.CHANNEL,
          createdBy: "u1",
          createdAt: timestampFromMs(1_000),
          memberCount: 2n,
          lastSeq: 7n,
          lastMessageAt: timestampFromMs(5_000)
        }]
      }
    },
    getRoomMembers: (request, context) => {
      authorized(context)
      throw new ConnectError(request.roomId === "gone" ? "room not found" : "not a member of this room", request.roomId === "gone" ? Code.NotFound : Code.PermissionDenied)
    }
  })
  router.service(ChatService, {
    getMessages: (request, context) => {
      authorized(context)
      expect(request.afterSeq).toBe(3n)
      return {
        messages: [{
          id: "m4",
          roomId: request.roomId,
          senderId: "u2",
          content: "hi",
          type: MessageType.TEXT,
          createdAt: timestampFromMs(9_000),
          senderUsername: "bob",
          seq: 4n,
          clientMsgId: ""
        }],
        hasMore: false
      }
    }
  })
}

describe("PylonRpc (Connect clients)", () => {
  it("sends the bearer token and maps the answer to the page's views", async () => {
    const calls: Array<string> = []
    const { session, state } = fakeSession(GOOD, "works")
    const rooms = await rpcOver(session, roomRoutes(calls)).listRooms()
    expect(rooms).toEqual([{ id: "r1", name: "general", type: "channel", createdBy: "u1", memberCount: 2, lastSeq: 7, activityAt: 5_000 }])
    expect(calls).toEqual([`Bearer ${GOOD}`])
    expect(state.renewals).toBe(0)
  })

  it("renews the session once after unauthenticated and makes the call again", async () => {
    const calls: Array<string> = []
    const { session, state } = fakeSession("stale-token", "works")
    const rooms = await rpcOver(session, roomRoutes(calls)).listRooms()
    expect(rooms.map((r) => r.id)).toEqual(["r1"])
    expect(calls).toEqual(["Bearer stale-token", `Bearer ${GOOD}`])
    expect(state.renewals).toBe(1)
  })

  it("a session that cannot be renewed fails the call as unauthorized", async () => {
    const calls: Array<string> = []
    const { session, state } = fakeSession("stale-token", "ended")
    const failure = await rpcOver(session, roomRoutes(calls)).listRooms().then(() => undefined, (error: unknown) => error)
    expect(failure).toBeInstanceOf(ApiError)
    expect(failure).toMatchObject({ code: "unauthorized", message: "Your session has ended. Please sign in again." })
    expect(calls).toEqual(["Bearer stale-token"])
    expect(state.renewals).toBe(1)
  })

  it("Connect errors show the texts of the REST errors they stand for", async () => {
    const rpc = rpcOver(fakeSession(GOOD, "works").session, roomRoutes([]))
    await expect(rpc.members("r1")).rejects.toMatchObject({
      code: "forbidden",
      message: restErrorText("forbidden", "not a member of this room")
    })
    await expect(rpc.members("gone")).rejects.toMatchObject({ code: "not_found", message: restErrorText("not_found", "room not found") })
  })

  it("history after a seq: int64 and timestamps as numbers, no client_msg_id as null", async () => {
    const page = await rpcOver(fakeSession(GOOD, "works").session, roomRoutes([])).messages("r1", { limit: 100, afterSeq: 3 })
    expect(page).toEqual({
      messages: [{ id: "m4", seq: 4, senderId: "u2", senderName: "bob", content: "hi", clientMsgId: null, createdAt: 9_000 }],
      hasMore: false
    })
  })

  it("maps every Connect code to a REST error code, and a failed fetch to the network error", () => {
    const cases: ReadonlyArray<readonly [Code, string]> = [
      [Code.InvalidArgument, "bad_request"],
      [Code.Unauthenticated, "unauthorized"],
      [Code.PermissionDenied, "forbidden"],
      [Code.NotFound, "not_found"],
      [Code.AlreadyExists, "already_exists"],
      [Code.ResourceExhausted, "rate_limited"],
      [Code.Unavailable, "service_unavailable"],
      [Code.Internal, "internal_error"],
      [Code.Unknown, "internal_error"]
    ]
    for (const [code, expected] of cases) expect(apiErrorOf(new ConnectError("detail", code)).code).toBe(expected)
    // Internal details never reach the page; validation details do.
    expect(apiErrorOf(new ConnectError("internal error", Code.Internal)).message).toBe(restErrorText("internal_error", ""))
    expect(apiErrorOf(new ConnectError("name: too long", Code.InvalidArgument)).message).toBe("That was not accepted: name: too long")
    expect(apiErrorOf(ConnectError.from(new TypeError("Failed to fetch"))).code).toBe("network")
  })
})
