# syntax=docker/dockerfile:1
# One image for every fleet-ota role: `serve` (orchestrator, the default), `broker`, `sim`, the
# CLI. Multi-stage: dev dependencies and the TypeScript compiler never reach the runtime image,
# which runs as the unprivileged `node` user. docker-compose.yml picks the role per service.

ARG NODE_VERSION=20

# Stage 1: every dependency, for the compiler (reused by the build stage's cache).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# Stage 2: compile protocol/, node-crypto/, api-client/, state/, runtime/, broker/, orchestrator/, launcher/ and device-sim/ to dist/ (tsconfig.build.json).
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY protocol ./protocol
COPY node-crypto ./node-crypto
COPY api-client ./api-client
COPY state ./state
COPY runtime ./runtime
COPY broker ./broker
COPY orchestrator ./orchestrator
COPY launcher ./launcher
COPY device-sim ./device-sim
RUN npm run build \
 && if [ -d orchestrator/dashboard/public ]; then \
      mkdir -p dist/orchestrator/dashboard && cp -R orchestrator/dashboard/public dist/orchestrator/dashboard/public; \
    fi

# Stage 3: production dependencies only. tsx is a runtime dependency (the launcher falls back
# to it when dist/ is missing); with dist/ present it is never loaded.
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Stage 4: runtime. Code and dependencies are owned by root and read-only to the app user;
# only the data folder (artifact store, FLEET_DATA_DIR) is writable by it.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FLEET_DATA_DIR=/var/lib/fleet-ota
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY launcher/fleet-ota.js ./launcher/fleet-ota.js
RUN mkdir -p /var/lib/fleet-ota && chown node:node /var/lib/fleet-ota
USER node
# 8080: orchestrator HTTP API; 1884: MQTT (1883 is often taken by a system Mosquitto); 9464: broker metrics.
EXPOSE 8080 1884 9464
# For `serve`, the default command: ready when Redis answers (GET /readyz). No curl in the image,
# so Node's fetch. docker-compose.yml overrides this for the broker and the simulator.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FLEET_HTTP_PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1)).catch(() => process.exit(1))"]
ENTRYPOINT ["node", "launcher/fleet-ota.js"]
CMD ["serve"]
