/**
 * Response headers every Pylon HTTP answer carries. Every response is data (JSON envelopes,
 * ndjson RPC streams, Prometheus text), never a page, so the strictest policy fits all of them:
 * no MIME sniffing, no referrer, nothing may load or frame it.
 */
import { HttpServerResponse } from "effect/http"

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'"
}

export const withSecurityHeaders = (
  response: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse => HttpServerResponse.setHeaders(response, SECURITY_HEADERS)
