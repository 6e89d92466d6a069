/**
 * Builds the web client into `dist/` (served by the API gateway at `/`): one hashed JS and CSS
 * file under `dist/assets/`, no CDN, no inline script (the gateway's page CSP allows only 'self').
 */
import { defineConfig } from "vite"

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // The bundle is served from memory; keep the module preload polyfill out of index.html.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0
  },
  oxc: { jsx: { runtime: "automatic" } }
})
