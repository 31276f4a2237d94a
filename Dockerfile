# syntax=docker/dockerfile:1
# GremlinsAI: multi-stage build. Debian slim rather than Alpine: native add-ons this
# platform uses (argon2, ONNX runtimes, llama.cpp, sharp) ship glibc binaries first.
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Install scripts must not download extra binaries (onnxruntime-node's does unless told to skip).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
# The official image's unprivileged `node` user (uid 1000) owns only the data volume.
RUN mkdir -p /data && chown node:node /data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
VOLUME ["/data"]
EXPOSE 3000
# No curl in the slim image: Node's own fetch probes liveness.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# The node flags of `npm run start:prod` (package.json; why: docs/deployment.md, "Memory").
CMD ["node", "--v8-pool-size=1", "--max-semi-space-size=8", "--expose-gc", "dist/src/main.js"]
