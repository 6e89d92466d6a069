/**
 * The web client (`packages/web`, built by Vite into `packages/web/dist`) served by the gateway at
 * `/` in both topologies. The bundle is read into memory once at start (a few hundred KiB):
 * hashed files under `/assets/` are immutable for a year, everything else (`index.html` first)
 * is `no-cache` with an ETag. Browser navigations to any other non-API path get `index.html`
 * (single-page-app fallback); API, WebSocket, Connect and operations paths, and requests that do
 * not accept HTML, keep the JSON `404 not_found` envelope. The page gets a CSP that allows only
 * its own origin (scripts, styles, fetch and WebSocket), instead of the API's `default-src 'none'`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Config, Effect, FileSystem, Layer, Path } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import * as NodeCrypto from "node:crypto"
import * as NodePath from "node:path"

/** Where `vite build packages/web` writes the bundle. */
export const DEFAULT_WEB_DIST_DIR: string = NodePath.resolve(import.meta.dirname, "../../../web/dist")

/** What the page may load: only its own origin (`'self'` covers same-origin `ws:`/`wss:` too). */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export const IMMUTABLE = "public, max-age=31536000, immutable"
export const REVALIDATE = "no-cache"

export interface WebAsset {
  readonly body: Uint8Array
  readonly contentType: string
  readonly cacheControl: string
  readonly etag: string
}

export type WebAssets = ReadonlyMap<string, WebAsset>

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json"
}

/** One bundle file as served at `urlPath`. */
export const webAsset = (urlPath: string, body: Uint8Array): WebAsset => ({
  body,
  contentType: CONTENT_TYPES[NodePath.extname(urlPath).toLowerCase()] ?? "application/octet-stream",
  cacheControl: urlPath.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
  etag: `"${NodeCrypto.createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
})

/** Every file of the bundle directory (dot files skipped) by URL path; empty when it is not built. */
export const loadWebAssets = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (!(yield* fs.exists(path.join(directory, "index.html")))) return new Map<string, WebAsset>()
    const names = yield* fs.readDirectory(directory, { recursive: true })
    const assets = new Map<string, WebAsset>()
    for (const name of names) {
      const segments = name.split(path.sep)
      if (segments.some((segment) => segment.startsWith("."))) continue
      const file = path.join(directory, name)
      if ((yield* fs.stat(file)).type !== "File") continue
      const urlPath = `/${segments.join("/")}`
      assets.set(urlPath, webAsset(urlPath, yield* fs.readFile(file)))
    }
    return assets
  })

/** Paths that belong to the API surface: never answered with the page. */
const API_PREFIXES = ["/api/", "/ws", "/health", "/ready", "/metrics", "/rpc", "/pylon."]

export type WebAnswer =
  | { readonly _tag: "Asset"; readonly asset: WebAsset; readonly page: boolean }
  | { readonly _tag: "NotModified"; readonly asset: WebAsset; readonly page: boolean }
  | { readonly _tag: "NotFound" }

/** What a request gets: a bundle file, the page (SPA fallback), 304, or the API's 404. */
export const answerFor = (
  assets: WebAssets,
  request: { readonly method: string; readonly path: string; readonly accept: string; readonly ifNoneMatch: string | undefined }
): WebAnswer => {
  if (request.method !== "GET" && request.method !== "HEAD") return { _tag: "NotFound" }
  const exact = assets.get(request.path === "/" ? "/index.html" : request.path)
  const fallback = exact === undefined &&
      !API_PREFIXES.some((prefix) => request.path.startsWith(prefix)) &&
      !request.path.startsWith("/assets/") &&
      request.accept.includes("text/html")
    ? assets.get("/index.html")
    : undefined
  const asset = exact ?? fallback
  if (asset === undefined) return { _tag: "NotFound" }
  const page = asset.contentType.startsWith("text/html")
  if (request.ifNoneMatch !== undefined && request.ifNoneMatch.split(",").some((tag) => tag.trim() === asset.etag)) {
    return { _tag: "NotModified", asset, page }
  }
  return { _tag: "Asset", asset, page }
}

const pathOf = (url: string): string => {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

const serveFrom = (assets: WebAssets) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const answer = answerFor(assets, {
      method: request.method,
      path: pathOf(request.url),
      accept: request.headers["accept"] ?? "",
      ifNoneMatch: request.headers["if-none-match"]
    })
    if (answer._tag === "NotFound") return yield* Effect.fail(HttpFailure.notFound("route not found"))
    // A 304 carries the page's CSP too: the browser refreshes the cached headers from it.
    const headers: Record<string, string> = { etag: answer.asset.etag, "cache-control": answer.asset.cacheControl }
    if (answer.page) headers["content-security-policy"] = PAGE_CSP
    switch (answer._tag) {
      case "NotModified":
        return HttpServerResponse.empty({ status: 304, headers })
      case "Asset": {
        return HttpServerResponse.uint8Array(request.method === "HEAD" ? new Uint8Array() : answer.asset.body, {
          contentType: answer.asset.contentType,
          headers
        })
      }
    }
  })

/** `WEB_DIST_DIR`: the built bundle (default `packages/web/dist` of this checkout). */
export const WebDistDir = Config.String("WEB_DIST_DIR").pipe(Config.withDefault(DEFAULT_WEB_DIST_DIR))

/** The routes serving the bundle; every path no other route takes ends here. */
export const WebRoutes = Layer.unwrap(Effect.gen(function*() {
  const directory = yield* WebDistDir
  const assets = yield* loadWebAssets(directory).pipe(
    Effect.provide(NodeServices.layer),
    Effect.catch((error) => Effect.logWarning(`web client: cannot read ${directory}`, error).pipe(Effect.as(new Map<string, WebAsset>())))
  )
  yield* assets.size === 0
    ? Effect.logInfo(`web client: not built (no ${directory}/index.html); / answers 404`)
    : Effect.logDebug(`web client: ${assets.size} files from ${directory}`)
  return HttpRouter.add("*", "/*", serveFrom(assets))
}))
