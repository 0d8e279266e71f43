# syntax=docker/dockerfile:1
# The generic function runtime: one image for every Spindle function. It fetches the bundle named by
# SPINDLE_BUNDLE=sha256:<hex> from the object store (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET),
# checks its digest and serves it on :8080 with OpenFaaS's health path /_/health.
# Build from the repository root: docker build -f infra/runtime.Dockerfile -t spindle/runtime .

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
# The whole workspace (package-lock.json names every workspace folder); .dockerignore keeps node_modules out.
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund
# The entry point and the few gateway modules it uses, as one file; minio stays a package (loaded by require).
RUN npx esbuild gateway/src/bundle-start.ts --bundle --platform=node --format=esm --target=node20 --external:minio --outfile=/out/bundle-start.mjs
# minio at the version package-lock.json pins, and nothing else.
RUN MINIO_VERSION="$(node -p "require('./node_modules/minio/package.json').version")" \
  && cd /out && echo '{"type":"module","private":true}' > package.json \
  && npm install --ignore-scripts --no-audit --no-fund --omit=dev "minio@${MINIO_VERSION}"

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 SPINDLE_BUNDLE_DIR=/tmp/spindle-bundle
WORKDIR /app
COPY --from=build --chown=node:node /out /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/_/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "/app/bundle-start.mjs"]
