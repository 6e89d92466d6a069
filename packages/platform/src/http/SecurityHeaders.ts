/**
 * Response headers every Pylon HTTP answer carries. Almost every response is data (JSON envelopes,
 * ndjson RPC streams, Prometheus text), so the strictest policy is the default: no MIME sniffing,
 * no referrer, nothing may load or frame it. The one page (the web client's `index.html`, served by
 * the gateway) sets its own, still same-origin-only, CSP, which is kept.
 */
import { HttpServerResponse } from "effect/http"

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'"
}

const { "content-security-policy": _csp, ...WITHOUT_CSP } = SECURITY_HEADERS

/** Adds the headers; a response that set its own CSP (the web client's page) keeps it. */
export const withSecurityHeaders = (
  response: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.setHeaders(response, response.headers["content-security-policy"] === undefined ? SECURITY_HEADERS : WITHOUT_CSP)
