# syntax=docker/dockerfile:1
#
# The gatewire Node images, one Dockerfile, two targets sharing every layer but the last:
#
#   docker build --target proxy  -t gatewire/proxy  .   # the HTTP edge proxy
#   docker build --target worker -t gatewire/worker .   # the TypeScript worker runtime (examples/hello by default)
#
# docker-compose.yml builds both. The Python worker (Django) is Dockerfile.python. Layout inside:
# the app in /opt/gatewire, worker sockets in /run/gatewire (a volume shared by the proxy and the
# workers, SPEC §16), static files in /srv/static; user gatewire, uid/gid 10001 in every gatewire
# image, so that the proxy may connect to the workers' 0660 sockets.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- every dependency, for the build ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY worker-runtime/package.json worker-runtime/
COPY proxy/package.json proxy/
COPY test/conformance/package.json test/conformance/
RUN npm ci --no-audit --no-fund

# ---- TypeScript → dist/ ---------------------------------------------------------------------------
FROM deps AS build
COPY tsconfig.base.json ./
COPY protocol/tsconfig.json protocol/
COPY protocol/src protocol/src
COPY worker-runtime/tsconfig.json worker-runtime/
COPY worker-runtime/src worker-runtime/src
COPY proxy/tsconfig.json proxy/
COPY proxy/src proxy/src
RUN npx tsc -b protocol worker-runtime proxy

# ---- production dependencies only (tsx included: the worker loads .ts apps with it) --------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY worker-runtime/package.json worker-runtime/
COPY proxy/package.json proxy/
COPY test/conformance/package.json test/conformance/
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -f node_modules/@gatewire/conformance \
 && npm cache clean --force

# ---- what both images share ----------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The same user and group in every gatewire image (Dockerfile.python too). The directories a named
# volume is mounted on are created here, so that a fresh volume starts with this owner and mode
# (Docker copies the image's directory into an empty named volume): 0770, never world-writable.
RUN groupadd --system --gid 10001 gatewire \
 && useradd --system --uid 10001 --gid gatewire --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gatewire \
 && install -d -o gatewire -g gatewire -m 0770 /run/gatewire /run/gatewire/hello /run/gatewire/django \
 && install -d -o gatewire -g gatewire -m 0755 /srv/static
WORKDIR /opt/gatewire
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/protocol/package.json ./protocol/
COPY --from=build /src/protocol/dist ./protocol/dist
COPY --from=build /src/worker-runtime/package.json ./worker-runtime/
COPY --from=build /src/worker-runtime/dist ./worker-runtime/dist
COPY --from=build /src/proxy/package.json ./proxy/
COPY --from=build /src/proxy/dist ./proxy/dist
COPY package.json ./
COPY deploy/docker-entrypoint.sh deploy/healthcheck.mjs ./deploy/
COPY deploy/compose ./deploy/compose
COPY deploy/health ./deploy/health
USER gatewire:gatewire

# ---- the proxy -----------------------------------------------------------------------------------
FROM runtime AS proxy
ENV GATEWIRE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz/
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/opt/gatewire/deploy/healthcheck.mjs", "http"]
ENTRYPOINT ["/opt/gatewire/deploy/docker-entrypoint.sh", "node", "/opt/gatewire/proxy/dist/main.js"]
# Without arguments: one upstream group, every worker socket in /run/gatewire/hello. The compose
# file and the Kubernetes manifest replace this with --config FILE. (Not an ENV: the environment
# overrides a config file, and GATEWIRE_SOCKET_DIR would add a group to the file's.)
CMD ["--socket-dir", "/run/gatewire/hello"]

# ---- the TypeScript worker -----------------------------------------------------------------------
FROM runtime AS worker
COPY examples/hello/app.ts ./examples/hello/
# Your own app: FROM gatewire/worker, COPY it in, set GATEWIRE_APP (and the socket directory).
ENV GATEWIRE_APP=/opt/gatewire/examples/hello/app.ts \
    GATEWIRE_SOCKET_DIR=/run/gatewire/hello
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/gatewire/deploy/healthcheck.mjs", "worker"]
ENTRYPOINT ["/opt/gatewire/deploy/docker-entrypoint.sh", "node", "/opt/gatewire/worker-runtime/dist/main.js"]
CMD ["--processes", "2"]
