# syntax=docker/dockerfile:1
# The longhaul image: `longhaul worker` by default; the same image runs `longhaul codec-server`
# (see docker-compose.yml). The TypeScript sources run through tsx, as from a checkout; only the
# workflow code is pre-bundled, so a worker does no bundling at start.
#
# Not built on the machine this file was written on (no Docker engine there); the base image tag
# was not pulled there either.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, then the workflow bundle ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Never --omit=optional: the workflow bundler needs @swc/core's platform package, which is an
# optional dependency.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsx worker/bundle.ts

# ---- prod-deps: runtime dependencies only (dev tools such as vitest and tsc are left out) ----
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LONGHAUL_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js
WORKDIR /app
# The coding tools: ripgrep for glob and grep, bubblewrap for run_command's sandbox. Inside a
# container bubblewrap needs user namespaces the runtime may not grant; LONGHAUL_SANDBOX=auto then
# runs commands unsandboxed (docs/security.md says what that leaves open), =bwrap refuses them.
RUN apt-get update && apt-get install -y --no-install-recommends ripgrep bubblewrap \
    && rm -rf /var/lib/apt/lists/*
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY config ./config
COPY index.ts ./
COPY agents ./agents
COPY activities ./activities
COPY store ./store
COPY client ./client
COPY tools ./tools
COPY worker ./worker
COPY workflows ./workflows
COPY --from=build /app/build/ ./build/
# The default directory store (.longhaul/store) and a mount point for run workspaces, writable by
# the unprivileged user the image runs as (`node`, uid 1000, from the base image).
RUN mkdir -p /app/.longhaul /workspaces && chown node:node /app/.longhaul /workspaces
USER node

# A worker has no HTTP port, so this checks what can honestly be checked from inside: that a
# `longhaul.mjs worker` (or `codec-server`) process is alive and that the Temporal frontend
# ($TEMPORAL_ADDRESS) accepts TCP connections. It does not prove the worker is polling its task
# queue: `temporal task-queue describe --task-queue longhaul` (or the Web UI's task-queue page)
# shows the pollers. docker-compose.yml gives the codec server its own, HTTP, health check.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const fs=require('fs'),net=require('net');const alive=fs.readdirSync('/proc').filter(p=>p>0).some(p=>{try{const a=fs.readFileSync('/proc/'+p+'/cmdline','utf8').split('\\0');return a.some(s=>s.endsWith('longhaul.mjs'))&&(a.includes('worker')||a.includes('codec-server'))}catch{return false}});if(!alive){console.error('no longhaul process');process.exit(1)}const t=process.env.TEMPORAL_ADDRESS||'localhost:7233',i=t.lastIndexOf(':');const s=net.connect({host:t.slice(0,i).replace(/[[\\]]/g,''),port:+t.slice(i+1)});s.setTimeout(5000,()=>{console.error('temporal: timeout');process.exit(1)});s.on('connect',()=>{s.end();process.exit(0)});s.on('error',e=>{console.error('temporal: '+e.message);process.exit(1)})"]

# The base image's entrypoint (docker-entrypoint.sh) execs this, so node is the main process and
# gets SIGTERM from `docker stop`: the worker drains (stop_grace_period in docker-compose.yml).
# The codec server is the same image with `command: node bin/longhaul.mjs codec-server …`.
CMD ["node", "bin/longhaul.mjs", "worker"]
