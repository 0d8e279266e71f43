# syntax=docker/dockerfile:1
# The gateway: the management API, invocations, graphs, async queue worker, /metrics, and the web app at /ui
# (built here from web/ and served from SPINDLE_WEB_DIR). Redis, NATS, Postgres and MinIO are other containers.
# Build from the repository root: docker build -f infra/gateway.Dockerfile -t spindle/gateway .

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm run build --workspace web \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf web/node_modules web/src functions tests bench

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 SPINDLE_DATA_DIR=/data SPINDLE_WEB_DIR=/app/web/build
WORKDIR /app
COPY --from=build --chown=node:node /src /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "gateway/src/gateway-main.ts"]
