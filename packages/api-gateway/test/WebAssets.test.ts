/**
 * What the gateway answers for the web client (`answerFor`, pure): the page and hashed assets
 * with their cache policy, 304 on a matching ETag, the single-page-app fallback only for HTML
 * navigations outside the API, WebSocket, Connect and operations paths, and the API's 404 for
 * everything else.
 */
import { describe, expect, it } from "@effect/vitest"
import { answerFor, IMMUTABLE, REVALIDATE, webAsset } from "../src/web/WebAssets.ts"
import type { WebAnswer, WebAssets } from "../src/web/WebAssets.ts"

const bytes = (text: string) => new TextEncoder().encode(text)

const index = webAsset("/index.html", bytes("<!doctype html><title>Pylon</title>"))
const script = webAsset("/assets/index-Bx81a9Qz.js", bytes("console.log('pylon')"))
const icon = webAsset("/favicon.svg", bytes("<svg/>"))
const assets: WebAssets = new Map([["/index.html", index], ["/assets/index-Bx81a9Qz.js", script], ["/favicon.svg", icon]])

const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

const ask = (path: string, options: { readonly method?: string; readonly accept?: string; readonly ifNoneMatch?: string } = {}) =>
  answerFor(assets, { method: options.method ?? "GET", path, accept: options.accept ?? HTML, ifNoneMatch: options.ifNoneMatch })

const served = (answer: WebAnswer) => answer._tag === "NotFound" ? "404" : `${answer._tag} ${answer.asset === index ? "page" : "file"}`

describe("web assets", () => {
  it("each file gets its content type and cache policy: hashed assets immutable, the rest revalidated", () => {
    expect(index).toMatchObject({ contentType: "text/html; charset=utf-8", cacheControl: REVALIDATE })
    expect(script).toMatchObject({ contentType: "text/javascript; charset=utf-8", cacheControl: IMMUTABLE })
    expect(icon).toMatchObject({ contentType: "image/svg+xml", cacheControl: REVALIDATE })
    expect(webAsset("/assets/blob.unknown", bytes("?")).contentType).toBe("application/octet-stream")
    // A strong ETag from the content: same bytes, same tag; other bytes, another.
    expect(index.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/)
    expect(webAsset("/copy.html", index.body).etag).toBe(index.etag)
    expect(webAsset("/index.html", bytes("<!doctype html>changed")).etag).not.toBe(index.etag)
  })

  it("/ is the page; files by their path; GET and HEAD only", () => {
    expect(ask("/")).toEqual({ _tag: "Asset", asset: index, page: true })
    expect(ask("/index.html")).toEqual({ _tag: "Asset", asset: index, page: true })
    expect(ask("/assets/index-Bx81a9Qz.js", { accept: "*/*" })).toEqual({ _tag: "Asset", asset: script, page: false })
    expect(ask("/favicon.svg", { accept: "image/*" })).toEqual({ _tag: "Asset", asset: icon, page: false })
    expect(ask("/", { method: "HEAD" })).toEqual({ _tag: "Asset", asset: index, page: true })
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) expect(ask("/", { method })).toEqual({ _tag: "NotFound" })
  })

  it("a matching If-None-Match is 304 (also within a list); another tag gets the file", () => {
    expect(ask("/", { ifNoneMatch: index.etag })).toEqual({ _tag: "NotModified", asset: index, page: true })
    expect(ask("/assets/index-Bx81a9Qz.js", { ifNoneMatch: `"stale", ${script.etag}` }))
      .toEqual({ _tag: "NotModified", asset: script, page: false })
    expect(ask("/", { ifNoneMatch: script.etag })).toEqual({ _tag: "Asset", asset: index, page: true })
    expect(ask("/", { ifNoneMatch: "" })).toEqual({ _tag: "Asset", asset: index, page: true })
    // The fallback page revalidates like the page itself.
    expect(ask("/rooms/42", { ifNoneMatch: index.etag })).toEqual({ _tag: "NotModified", asset: index, page: true })
  })

  it("HTML navigations to other paths get the page (single-page-app fallback)", () => {
    for (const path of ["/rooms/5f0c7a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", "/login", "/settings/profile", "/apiary", "/wiki"]) {
      expect(served(ask(path))).toBe("Asset page")
    }
  })

  it("API, WebSocket, Connect and operations paths, missing assets and non-HTML requests keep the 404", () => {
    const apiPaths = [
      "/api/v1/nope",
      "/api/v1/rooms/1/presence",
      "/ws",
      "/ws/extra",
      "/health",
      "/ready",
      "/metrics",
      "/rpc",
      "/pylon.chat.v1.ChatService/SendMessage",
      "/assets/index-0ld.js"
    ]
    for (const path of apiPaths) expect({ path, answer: served(ask(path)) }).toEqual({ path, answer: "404" })
    expect(served(ask("/rooms/42", { accept: "application/json" }))).toBe("404")
    expect(served(ask("/rooms/42", { accept: "" }))).toBe("404")
    expect(served(ask("/rooms/42", { method: "POST" }))).toBe("404")
  })

  it("without a built bundle everything is the 404", () => {
    const none: WebAssets = new Map()
    for (const path of ["/", "/index.html", "/rooms/42"]) {
      expect(answerFor(none, { method: "GET", path, accept: HTML, ifNoneMatch: undefined })).toEqual({ _tag: "NotFound" })
    }
  })
})
