# syntax=docker/dockerfile:1
# One image for every Pylon process. The command picks the role:
#   docker run pylon gateway | room | chat | presence | notification | migrate
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
# Not built on the machine that wrote it (no Docker engine there): see infra/README.md.
FROM node:24.21.0-slim

WORKDIR /app

# pnpm pinned to the version in package.json "packageManager".
RUN npm install --global pnpm@10.34.8 && npm cache clean --force

# Manifests first so the dependency layer is reused when only sources change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY packages/room-service/package.json packages/room-service/
COPY packages/chat-service/package.json packages/chat-service/
COPY packages/presence-service/package.json packages/presence-service/
COPY packages/notification-service/package.json packages/notification-service/
COPY packages/api-gateway/package.json packages/api-gateway/
COPY packages/pylon/package.json packages/pylon/
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --prod=false

# The rest of the repository (see .dockerignore), owned by root and read-only for the runtime user.
COPY . .

ENV NODE_ENV=production \
    APP_ENV=production \
    APP_HOST=0.0.0.0
# The node image's unprivileged user; Kubernetes manifests also pin runAsUser 1000.
USER 1000:1000

# Public ports, then the internal metrics ports (METRICS_PORT) of the same roles.
EXPOSE 8080 9001 9002 9003 9004 9464 9465 9466 9467 9468
ENTRYPOINT ["node", "packages/pylon/src/main.ts"]
CMD ["gateway"]
