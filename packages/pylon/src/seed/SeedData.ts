/**
 * The demo data `pylon seed` loads: four users, a public channel, a group and a direct room, and a
 * short conversation in each. Every message has a fixed `client_msg_id`, which is how a second run
 * recognises what is already there.
 */

/** Every demo user's password (they are demo accounts: anyone reading the README may log in). */
export const DEMO_PASSWORD = "pylon-demo-password"

export interface DemoUser {
  readonly username: string
  readonly email: string
}

export const demoUsers: ReadonlyArray<DemoUser> = ["alice", "bob", "carol", "dave"].map((username) => ({
  username,
  email: `${username}@demo.pylon.example.com`
}))

export interface DemoRoom {
  /** Prefix of its messages' `client_msg_id`s. */
  readonly key: string
  readonly name: string
  readonly type: "channel" | "group" | "direct"
  readonly owner: string
  readonly members: ReadonlyArray<string>
  /** `[sender, content]`, in order. */
  readonly conversation: ReadonlyArray<readonly [string, string]>
}

export const demoRooms: ReadonlyArray<DemoRoom> = [
  {
    key: "general",
    name: "general",
    type: "channel",
    owner: "alice",
    members: ["bob", "carol", "dave"],
    conversation: [
      ["alice", "Welcome to Pylon! This is #general, the channel everyone can join."],
      ["bob", "Hi all 👋 Messages here arrive in order on every gateway."],
      ["carol", "@dave did you see the new dashboards?"],
      ["dave", "Yes! Every send shows up as one trace in Jaeger."],
      ["alice", "Try reconnecting with since_seq: nothing gets lost."]
    ]
  },
  {
    key: "launch",
    name: "launch-planning",
    type: "group",
    owner: "bob",
    members: ["alice", "carol"],
    conversation: [
      ["bob", "Launch checklist: migrations, seed data, dashboards."],
      ["carol", "Migrations are applied on every pod start now."],
      ["alice", "I'll take the load test on Thursday."],
      ["bob", "Great, let's sync after that."]
    ]
  },
  {
    key: "alice-bob",
    name: "alice & bob",
    type: "direct",
    owner: "alice",
    members: ["bob"],
    conversation: [
      ["alice", "Lunch today?"],
      ["bob", "Sure, 12:30 at the usual place."],
      ["alice", "👍"]
    ]
  }
]

export const clientMsgId = (room: DemoRoom, index: number) => `seed-${room.key}-${index + 1}`
