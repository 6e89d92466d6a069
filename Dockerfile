# syntax=docker/dockerfile:1
# One image for every Pylon process; the command picks the role:
#   docker run pylon gateway | room | chat | presence | notification | migrate
# Node 24 runs the TypeScript sources directly (type stripping); only the web client is built. Two stages:
#   build    pnpm installs the locked dependencies (dev ones too, for Vite), scripts/web.sh builds the
#            web client into packages/web/dist, and scripts/ops/assemble-runtime.sh puts exactly what
#            the processes read at run time into /app (every workspace package's package.json + src/
#            and built dist/, migrations/, root manifests; production dependencies only).
#   runtime  the same Node base without npm/corepack/pnpm, /app owned by root, running as uid 1000;
#            the gateway serves the web client from WEB_DIST_DIR.
# packages/pylon/test/RuntimeImage.test.ts runs assemble-runtime.sh the same way (after building the
# bundle) and starts the roles from its output and reads the bundle where WEB_DIST_DIR below points,
# because no Docker engine was available where this file was written (never built).
#
# Base image: pinned by exact tag only. Its digest could not be looked up offline; when you can reach
# the registry, pin it: docker buildx imagetools inspect node:24.21.0-bookworm-slim
# and build with --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# pnpm pinned to the version in package.json "packageManager".
RUN npm install --global pnpm@10.34.8 && npm cache clean --force
# An explicit store: pnpm would otherwise open a second, empty store when the default one (here a
# cache mount) is on another filesystem than the project, and the offline install below would fail.
ENV PNPM_STORE_DIR=/pnpm/store
# Downloads need only the lockfile: this layer is reused until pnpm-lock.yaml changes. Every
# dependency, not only production ones: the web client is built with Vite here.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --store-dir "$PNPM_STORE_DIR"
COPY . .
# The web client's bundle (packages/web/dist: no CDN, everything in it); the build fails the image.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    CI=true pnpm install --frozen-lockfile --offline --ignore-scripts --store-dir "$PNPM_STORE_DIR" \
    && bash scripts/web.sh build \
    && test -f packages/web/dist/index.html
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    bash scripts/ops/assemble-runtime.sh /src /app --offline

FROM ${NODE_IMAGE} AS runtime
# No package managers or build tools at run time.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
# Owned by root and read-only for the runtime user.
COPY --from=build /app /app
ENV NODE_ENV=production \
    APP_ENV=production \
    APP_HOST=0.0.0.0 \
    WEB_DIST_DIR=/app/packages/web/dist
# The node image's unprivileged `node` user; the Kubernetes manifests also pin runAsUser 1000.
USER 1000:1000
# Public ports (gateway 8080, chat 9001, presence 9002, room 9003, notification 9004) and the internal
# metrics ports (METRICS_PORT: gateway 9464, chat 9465, presence 9466, room 9467, notification 9468).
EXPOSE 8080 9001 9002 9003 9004 9464 9465 9466 9467 9468
ENTRYPOINT ["node", "packages/pylon/src/main.ts"]
CMD ["gateway"]
