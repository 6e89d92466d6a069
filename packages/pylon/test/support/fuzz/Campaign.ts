/**
 * A fuzz campaign against a running Pylon over real HTTP and WebSocket: sets up fixtures,
 * generates cases from one seed (fast-check, in batches, so case `i` of batch `b` can be
 * regenerated alone), sends them — HTTP with a few requests in flight, WebSocket frames one at a
 * time on a live connection alongside — checks every answer against the Oracle, counts what it
 * saw (cases and statuses per endpoint, frames and error codes) and keeps each distinct finding
 * with its smallest reproducing request. Afterwards it checks the server is still whole:
 * `/health`, an authenticated call and a normal send answered as usual. Memory is sampled through
 * a probe the caller supplies (in-process heap, or the server process's RSS/heap).
 */
import * as Http from "node:http"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { MAX_FRAME_BYTES } from "@pylon/contracts/WsFrames"
import { FuzzSetupError, Fixtures } from "./Fixtures.ts"
import { httpCase, ROUTES, UNKNOWN_ROUTE } from "./HttpCases.ts"
import type { Credential, HttpCase, HttpCaseOptions } from "./HttpCases.ts"
import { checkErrorEnvelope, checkHttp, checkServerFrame, leaksIn, requestStrings } from "./Oracle.ts"
import type { Violation } from "./Oracle.ts"
import { hasPlaceholder, ph, resolvePlaceholders } from "./Placeholders.ts"
import { FuzzSocket, sendHttp, tryUpgrade } from "./Transport.ts"
import { wsCase, wsCaseLabel } from "./WsCases.ts"
import type { WsCase, WsCaseOptions } from "./WsCases.ts"

export interface MemorySample {
  readonly label: string
  /** JS heap in use after a full GC, when the probe can force one. */
  readonly heapUsedBytes: number | undefined
  readonly rssBytes: number | undefined
}

export interface MemoryProbe {
  readonly sample: (label: string) => Promise<MemorySample>
}

export interface CampaignOptions {
  readonly baseUrl: string
  readonly seed: number
  readonly httpCases: number
  readonly wsCases: number
  /** Cases of each stream run before the memory baseline is taken (they are counted too). */
  readonly warmupCases: number
  /**
   * First case index of each stream (default 0): with the same seed, `httpFrom: 64285,
   * httpCases: 64286` replays exactly case 285 of HTTP batch 128 (batch size 500).
   */
  readonly from?: { readonly http: number; readonly ws: number } | undefined
  /** HTTP requests in flight at once. */
  readonly concurrency: number
  readonly jwtSecret: string
  readonly timeoutMs: number
  readonly batchSize: number
  /**
   * Wall-clock budget of the case streams: no new batch starts after it (the report counts what
   * ran). Keeps a bounded run bounded on an overloaded machine; replaying the seed gives the same
   * cases in the same order.
   */
  readonly maxSeconds?: number | undefined
  readonly http: HttpCaseOptions
  readonly ws: WsCaseOptions
  readonly memory?: MemoryProbe | undefined
  /** Called after every batch with the cases done so far (progress logs, memory trend). */
  readonly onBatch?: ((done: { readonly http: number; readonly ws: number }) => Effect.Effect<void>) | undefined
  /** Progress and findings as they happen. */
  readonly log?: ((line: string) => void) | undefined
}

export interface EndpointStats {
  cases: number
  statuses: Record<string, number>
}

export interface Finding {
  /** `<endpoint> <kind>`: one entry per distinct problem. */
  readonly signature: string
  readonly kind: string
  readonly endpoint: string
  count: number
  detail: string
  /** The smallest request that showed it. */
  repro: string
  /** Where to regenerate it: `FUZZ_SEED` plus stream, batch and index. */
  caseRef: string
  readonly labels: Array<string>
}

export interface CampaignReport {
  readonly seed: number
  readonly baseUrl: string
  readonly durationSeconds: number
  readonly http: {
    readonly cases: number
    readonly unsendable: number
    readonly byEndpoint: Record<string, EndpointStats>
    readonly statuses: Record<string, number>
    readonly mutations: Record<string, number>
  }
  readonly ws: {
    readonly frames: number
    readonly upgrades: Record<string, number>
    readonly mutations: Record<string, number>
    readonly serverFrames: Record<string, number>
    readonly errorCodes: Record<string, number>
    readonly closes: Record<string, number>
    readonly reconnects: number
  }
  readonly relogins: number
  readonly findings: ReadonlyArray<Finding>
  readonly afterwards: { readonly health: number; readonly me: number; readonly send: string }
  readonly memory: ReadonlyArray<MemorySample>
}

/** Credentials that must be refused: accepting one is a finding. */
const MUST_REFUSE_SIGNED = new Set([
  "claims:expired",
  "claims:too-long-lived",
  "claims:issued-in-future",
  "claims:refresh-type",
  "claims:unknown-user",
  "claims:unknown-session"
])
const mustRefuse = (credential: Credential): boolean =>
  credential.kind === "none" || credential.kind === "raw" || (credential.kind === "signed" && MUST_REFUSE_SIGNED.has(credential.label))

const credentialLabel = (credential: Credential): string =>
  credential.kind === "signed" || credential.kind === "raw" ? `${credential.kind}:${credential.label}` : credential.kind

const bump = (record: Record<string, number>, key: string, by = 1) => {
  record[key] = (record[key] ?? 0) + by
}

/** A per-stream, per-batch seed: batches can be regenerated independently. */
const batchSeed = (seed: number, stream: "http" | "ws", batch: number) =>
  (Math.imul(seed ^ (stream === "http" ? 0x9e37_79b9 : 0x85eb_ca6b), 31) + batch * 0x27d4_eb2d) >>> 0

const excerpt = (text: string, max = 500) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text)

const bodyText = (data: string | Uint8Array): string =>
  typeof data === "string" ? data : `base64:${Buffer.from(data).toString("base64")}`

const isRouteAuth = new Map(ROUTES.map((r) => [r.name, r.auth]))

/**
 * The Schema a 2xx answer must decode with: the route's, or — for a case that used another
 * method on the same path (`GET /rooms` vs `POST /rooms`) — that other route's. None for
 * unknown routes and methods no route has (those should not succeed; their body is still JSON).
 */
const successSchemaFor = (routeName: string, method: string) => {
  const route = ROUTES.find((r) => r.name === routeName)
  if (route === undefined) return undefined
  return route.method === method ? route.response : ROUTES.find((r) => r.path === route.path && r.method === method)?.response
}

export const runCampaign = (options: CampaignOptions): Effect.Effect<CampaignReport, FuzzSetupError> =>
  Effect.gen(function*() {
    const log = options.log ?? (() => undefined)
    const started = performance.now()
    const agent = new Http.Agent({ keepAlive: true, maxSockets: options.concurrency + 2 })
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    const base = new URL(options.baseUrl)
    const wsUrl = `${options.baseUrl.replace(/^http/, "ws")}/ws`
    const fixtures = yield* Fixtures.setup({ baseUrl: options.baseUrl, agent, jwtSecret: options.jwtSecret, timeoutMs: options.timeoutMs })
    log(`fuzz: fixtures ready (user ${fixtures.self.username}); seed ${options.seed}`)
    const roomIds = new Set(Object.values(fixtures.rooms))

    const findings = new Map<string, Finding>()
    const record = (stream: "http" | "ws", endpoint: string, violations: ReadonlyArray<Violation>, repro: string, caseRef: string, labels: ReadonlyArray<string>) => {
      for (const violation of violations) {
        const signature = `${endpoint} ${violation.kind}`
        const existing = findings.get(signature)
        if (existing === undefined) {
          findings.set(signature, { signature, kind: violation.kind, endpoint, count: 1, detail: violation.detail, repro, caseRef: `${stream}:${caseRef}`, labels: [...labels] })
          log(`fuzz: FINDING ${signature}: ${violation.detail}\n  ${repro.replaceAll("\n", "\n  ")}`)
          continue
        }
        existing.count++
        for (const label of labels) if (existing.labels.length < 40 && !existing.labels.includes(label)) existing.labels.push(label)
        if (repro.length < existing.repro.length) {
          existing.repro = repro
          existing.detail = violation.detail
          existing.caseRef = `${stream}:${caseRef}`
        }
      }
    }

    // ---------------------------------------------------------------- HTTP
    const http = {
      cases: 0,
      unsendable: 0,
      byEndpoint: {} as Record<string, EndpointStats>,
      statuses: {} as Record<string, number>,
      mutations: {} as Record<string, number>
    }

    const runHttp = (c: HttpCase, caseRef: string) =>
      Effect.gen(function*() {
        if (c.credential.kind === "disposable" || (c.body !== undefined && typeof c.body.data === "string" && c.body.data.includes(ph("refreshToken")))) {
          yield* fixtures.replenish()
        }
        const values = fixtures.values
        const target = resolvePlaceholders(c.target, values)
        const text = c.body === undefined || typeof c.body.data !== "string" ? undefined : resolvePlaceholders(c.body.data, values)
        const bytes = c.body === undefined ? undefined : typeof c.body.data === "string" ? new TextEncoder().encode(text ?? "") : c.body.data
        const authorization = fixtures.authorization(c.credential)
        const headers: Record<string, string> = {}
        if (authorization !== undefined) headers.authorization = authorization
        if (c.contentType !== undefined) headers["content-type"] = c.contentType
        const usedRefresh = text !== undefined && c.body !== undefined && typeof c.body.data === "string" && c.body.data.includes(ph("refreshToken"))
          ? fixtures.currentRefreshToken
          : undefined
        const outcome = yield* Effect.promise(() => sendHttp(agent, base, { method: c.method, target, headers, body: bytes }, options.timeoutMs))
        if (!outcome.sent) {
          http.unsendable++
          return
        }
        const { observation } = outcome
        const oversizedBody = bytes !== undefined && bytes.length > 1024 * 1024
        const oversizedHead = c.labels.some((l) => l.startsWith("head:"))
        // A server may answer (413, or 400 for a head over 16 KiB) and close before it has read all
        // the client is sending; the client's write then fails with a reset before it reads the answer.
        const status = observation.status === 0 && (oversizedBody || oversizedHead)
          ? `reset(oversized ${oversizedBody ? "body" : "head"})`
          : String(observation.status)
        http.cases++
        const stats = http.byEndpoint[c.route] ??= { cases: 0, statuses: {} }
        stats.cases++
        bump(stats.statuses, status)
        bump(http.statuses, status)
        for (const label of c.labels) if (label.startsWith("body:") || label.startsWith("query:")) bump(http.mutations, label.split(":").slice(0, 2).join(":"))

        if (usedRefresh !== undefined && c.route.endsWith("/refresh")) fixtures.observeRefresh(usedRefresh, observation.status, observation.body)
        if (c.route.endsWith("/logout") && authorization !== undefined) fixtures.observeLogout(authorization.replace(/^Bearer /, ""), observation.status)

        const violations: Array<Violation> = status.startsWith("reset") ? [] : [...checkHttp(observation, {
          success: c.route === UNKNOWN_ROUTE ? undefined : successSchemaFor(c.route, c.method),
          echoed: requestStrings([target, text ?? "", authorization ?? ""]),
          head: c.method === "HEAD"
        })]
        const routeNeedsAuth = isRouteAuth.get(c.route) === true
        if (routeNeedsAuth && mustRefuse(c.credential) && observation.status >= 200 && observation.status < 300) {
          violations.push({ kind: "accepted-bad-credential", detail: `${credentialLabel(c.credential)} answered ${observation.status}` })
        }
        // Paths match exactly (HttpServerLive EXACT_PATHS): no other spelling of a path is served as
        // it. ("/api/v1/rooms/" is the `{id}` route with an empty id: 400, or 405 for its other methods.)
        if (c.route === UNKNOWN_ROUTE && observation.status >= 200 && observation.status < 400) {
          violations.push({ kind: "unknown-route-served", detail: `${c.method} answered ${observation.status}` })
        }
        if (violations.length > 0) {
          const repro = [
            `${c.method} ${excerpt(target, 300)}`,
            `  authorization: ${credentialLabel(c.credential)}${authorization === undefined ? "" : ` (${excerpt(authorization, 80)})`}`,
            ...(c.contentType === undefined ? [] : [`  content-type: ${c.contentType}`]),
            ...(bytes === undefined ? [] : [`  body (${bytes.length} bytes): ${excerpt(JSON.stringify(text ?? bodyText(c.body?.data ?? "")))}`]),
            `  → ${observation.status} ${excerpt(observation.body, 300)}`
          ].join("\n")
          // Every route meets an oversized head in Node's HTTP parser, before routing: one finding, not one per route.
          const endpoint = oversizedHead ? "(any route, request head over 16 KiB)" : c.route
          record("http", endpoint, violations, repro, caseRef, c.labels)
        }
      })

    // ---------------------------------------------------------------- WebSocket
    const ws = {
      frames: 0,
      upgrades: {} as Record<string, number>,
      mutations: {} as Record<string, number>,
      serverFrames: {} as Record<string, number>,
      errorCodes: {} as Record<string, number>,
      closes: {} as Record<string, number>,
      reconnects: 0
    }
    let socket: FuzzSocket | undefined
    const connect = Effect.tryPromise({
      try: () => FuzzSocket.open(wsUrl, fixtures.self.token, options.timeoutMs),
      catch: (cause) => new FuzzSetupError({ message: `the fuzz user's WebSocket could not (re)connect: ${String(cause)}` })
    })

    const inspectFrames = (frames: ReadonlyArray<string>, echoed: ReadonlyArray<string>): Array<Violation> => {
      const violations: Array<Violation> = []
      for (const text of frames) {
        const checked = checkServerFrame(text, echoed)
        violations.push(...checked.violations)
        const frame = checked.frame
        if (frame === undefined) continue
        bump(ws.serverFrames, frame.type)
        if (frame.type === "error") bump(ws.errorCodes, frame.code)
        if (frame.type === "ack" && roomIds.has(frame.room_id)) fixtures.noteSeq(frame.room_id, frame.seq)
        if (frame.type === "user_joined" && frame.last_seq !== undefined) fixtures.noteSeq(frame.room_id, frame.last_seq)
      }
      return violations
    }

    const runWs = (c: WsCase, caseRef: string) =>
      Effect.gen(function*() {
        const label = wsCaseLabel(c)
        bump(ws.mutations, label.split(":").slice(0, 2).join(":"))
        if (c.kind === "upgrade") {
          const authorization = fixtures.authorization(c.credential)
          const token = authorization?.replace(/^Bearer /, "")
          const query = c.via === "header" || token === undefined ? "" : `?${c.via}=${encodeURIComponent(token)}`
          const url = `${wsUrl}${query}${query === "" ? c.extraQuery.replace(/^&/, "?") : c.extraQuery}`
          const headers: Record<string, string> = c.via === "header" && authorization !== undefined ? { authorization } : {}
          const observation = yield* Effect.promise(() => tryUpgrade(url, headers, options.timeoutMs))
          bump(ws.upgrades, String(observation.status))
          const violations: Array<Violation> = []
          if (observation.status === 0) violations.push({ kind: "no-response", detail: observation.error ?? "no answer to the upgrade" })
          else if (observation.status >= 500) violations.push({ kind: `http-${observation.status}`, detail: excerpt(observation.body) })
          if (observation.status !== 101 && observation.status !== 0) {
            violations.push(...checkErrorEnvelope(observation.status, observation.body))
            violations.push(...leaksIn(observation.body, requestStrings([url, authorization ?? ""])))
          }
          if (observation.status === 101 && mustRefuse(c.credential)) {
            violations.push({ kind: "accepted-bad-credential", detail: `${credentialLabel(c.credential)} was upgraded` })
          }
          if (violations.length > 0) {
            record("ws", "GET /ws (upgrade)", violations, `GET ${excerpt(url, 300)}\n  credential: ${credentialLabel(c.credential)} via ${c.via}\n  → ${observation.status} ${excerpt(observation.body, 200)}`, caseRef, [label])
          }
          return
        }
        if (socket === undefined || !socket.isOpen) {
          socket = yield* connect
          ws.reconnects++
          // Joined rooms make the valid `message`/`typing`/`leave` frames do real work (not just NOT_JOINED).
          for (const room of [fixtures.rooms.ownRoom, fixtures.rooms.memberRoom]) {
            const frame = JSON.stringify({ type: "join", room_id: room })
            const joined = yield* Effect.promise(() => socket!.exchange(frame, false, options.timeoutMs))
            const violations = inspectFrames(joined.frames, [])
            if (violations.length > 0) {
              record("ws", "GET /ws (frames)", violations, `text frame: ${frame} (the fuzzer's own join after reconnecting)\n  → ${joined.frames.join(" | ")}`, caseRef, [label])
            }
          }
        }
        const data = typeof c.payload.data === "string" && hasPlaceholder(c.payload.data)
          ? resolvePlaceholders(c.payload.data, fixtures.values)
          : c.payload.data
        const size = typeof data === "string" ? Buffer.byteLength(data) : data.length
        const between = inspectFrames(socket.drain(), [])
        const answer = yield* Effect.promise(() => socket!.exchange(data, c.binary, options.timeoutMs))
        ws.frames++
        const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8")
        const violations = [...between, ...inspectFrames(answer.frames, requestStrings([text]))]
        if (answer.binaryFrames > 0) violations.push({ kind: "binary-from-server", detail: `${answer.binaryFrames} binary frame(s)` })
        if (answer.closed !== undefined) {
          bump(ws.closes, String(answer.closed.code))
          // RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection (1007).
          const invalidUtf8 = !c.binary && typeof data !== "string" && !Buffer.from(Buffer.from(data).toString("utf8"), "utf8").equals(Buffer.from(data))
          const expected = (size > MAX_FRAME_BYTES && answer.closed.code === 1009) || (invalidUtf8 && answer.closed.code === 1007)
          if (!expected) violations.push({ kind: `ws-closed-${answer.closed.code}`, detail: `socket closed (${answer.closed.code} ${answer.closed.reason}) after a ${size}-byte frame` })
          socket.close()
          socket = undefined
        } else if (answer.timedOut) {
          violations.push({ kind: "ws-no-answer", detail: `no pong within ${options.timeoutMs} ms` })
          socket.close()
          socket = undefined
        } else if (size > MAX_FRAME_BYTES) {
          violations.push({ kind: "ws-oversized-accepted", detail: `a ${size}-byte frame did not close the socket with 1009` })
        }
        if (violations.length > 0) {
          const shown = typeof data === "string" ? JSON.stringify(excerpt(data)) : `base64:${excerpt(Buffer.from(data).toString("base64"))}`
          const answerText = answer.frames.map((f) => excerpt(f, 200)).join(" | ")
          record("ws", "GET /ws (frames)", violations, `${c.binary ? "binary" : "text"} frame (${size} bytes): ${shown}\n  → ${answerText}${answer.closed === undefined ? "" : ` close ${answer.closed.code}`}`, caseRef, [label])
        }
      })

    // ---------------------------------------------------------------- driving
    const first = options.from ?? { http: 0, ws: 0 }
    const done = { ...first }
    const outOfTime = () => options.maxSeconds !== undefined && performance.now() - started > options.maxSeconds * 1000
    const memory: Array<MemorySample> = []
    const sampleMemory = (label: string) =>
      options.memory === undefined ? Effect.void : Effect.promise(() => options.memory!.sample(label)).pipe(Effect.map((m) => void memory.push(m)))

    /** Runs `[from, to)` of a stream's cases in batches. */
    const stream = <C>(name: "http" | "ws", arbitrary: fc.Arbitrary<C>, from: number, to: number, run: (c: C, ref: string) => Effect.Effect<void, FuzzSetupError>, concurrency: number) =>
      Effect.gen(function*() {
        let index = from
        while (index < to && !outOfTime()) {
          const batch = Math.floor(index / options.batchSize)
          const offset = index % options.batchSize
          const count = Math.min(options.batchSize - offset, to - index)
          const cases = fc.sample(arbitrary, { seed: batchSeed(options.seed, name, batch), numRuns: offset + count }).slice(offset)
          yield* Effect.forEach(cases, (c, i) => run(c, `batch ${batch} index ${offset + i}`), { concurrency, discard: true })
          index += count
          done[name] = index
          if (options.onBatch !== undefined) yield* options.onBatch({ ...done })
        }
      })

    const httpArbitrary = httpCase(options.http)
    const wsArbitrary = wsCase(options.ws)
    const both = (from: { readonly http: number; readonly ws: number }, to: { readonly http: number; readonly ws: number }) =>
      Effect.all([
        stream("http", httpArbitrary, from.http, to.http, runHttp, options.concurrency),
        stream("ws", wsArbitrary, from.ws, to.ws, runWs, 1)
      ], { concurrency: 2, discard: true })

    const warm = {
      http: Math.min(first.http + options.warmupCases, options.httpCases),
      ws: Math.min(first.ws + options.warmupCases, options.wsCases)
    }
    yield* both(first, warm)
    yield* sampleMemory("baseline (after warm-up)")
    yield* both(warm, { http: options.httpCases, ws: options.wsCases })
    socket?.close()

    // ---------------------------------------------------------------- afterwards
    const plain = (method: string, path: string, token?: string) =>
      Effect.promise(() => sendHttp(agent, base, { method, target: path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, body: undefined }, options.timeoutMs))
        .pipe(Effect.map((o) => (o.sent ? o.observation.status : 0)))
    const health = yield* plain("GET", "/health")
    const me = yield* plain("GET", "/api/v1/users/me", fixtures.self.token)
    // A fresh room: the fixtures' memberships may have changed during the campaign (leave cases).
    const send = yield* Effect.gen(function*() {
      const room = yield* fixtures.freshRoom
      const client = yield* connect
      const joined = yield* Effect.promise(() => client.exchange(JSON.stringify({ type: "join", room_id: room }), false, options.timeoutMs))
      const answer = yield* Effect.promise(() =>
        client.exchange(JSON.stringify({ type: "message", room_id: room, content: "after the fuzz", client_msg_id: `after-${options.seed}` }), false, options.timeoutMs)
      )
      client.close()
      const acked = answer.frames.some((f) => Schema.is(Schema.Struct({ type: Schema.Literal("ack") }))(safeJson(f)))
      return acked ? "acked" : `no ack: ${[...joined.frames, ...answer.frames].map((f) => excerpt(f, 120)).join(" | ")}`
    }).pipe(Effect.catch((error) => Effect.succeed(`failed: ${error.message}`)))
    yield* sampleMemory("after the campaign")

    return {
      seed: options.seed,
      baseUrl: options.baseUrl,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      http,
      ws,
      relogins: fixtures.relogins,
      findings: [...findings.values()].sort((a, b) => a.signature.localeCompare(b.signature)),
      afterwards: { health, me, send },
      memory
    }
  }).pipe(Effect.scoped)

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The findings as readable text (test failure message, console). */
export const describeFindings = (report: CampaignReport): string =>
  report.findings.map((f) =>
    `• ${f.signature} ×${f.count}: ${f.detail}\n  replay: FUZZ_SEED=${report.seed} (${f.caseRef})\n  mutations: ${f.labels.slice(0, 8).join(", ")}\n  ${f.repro.replaceAll("\n", "\n  ")}`
  ).join("\n")
