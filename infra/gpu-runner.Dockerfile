# syntax=docker/dockerfile:1
# The GPU runner on CUDA. Versions that pair: onnxruntime-node 1.30.0 (package-lock.json) loads the CUDA
# execution provider of Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 (NuGet), which is built for CUDA 12.x with
# cuDNN 9.x: hence the CUDA 12.8 + cuDNN 9 runtime base. onnxruntime-node's own install script fetches that
# provider at image build time (--onnxruntime-node-install=cuda12); nothing is downloaded when the runner starts.
# Without a usable GPU the runner falls back to CPU and says so (SPINDLE_GPU_EP=auto).
# Build from the repository root: docker build -f infra/gpu-runner.Dockerfile -t spindle/gpu-runner .

FROM node:20.20.2-bookworm-slim AS node

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /src
# The whole workspace (package-lock.json names every workspace folder); .dockerignore keeps node_modules out.
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund --omit=dev \
  && node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
COPY --from=node --chown=root:root /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production SPINDLE_GPU_EP=auto SPINDLE_GPU_METRICS_PORT=9465 SPINDLE_GPU_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json /app/package.json
COPY --from=build --chown=root:root /src/node_modules /app/node_modules
COPY --from=build --chown=root:root /src/schemas /app/schemas
COPY --from=build --chown=root:root /src/runtime /app/runtime
COPY --from=build --chown=root:root /src/gpu-runner /app/gpu-runner
USER ubuntu
EXPOSE 9465
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9465/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "gpu-runner/src/main.ts"]
