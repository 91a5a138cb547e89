# One image for the three processes of affiliate-hooks; docker-compose.yml picks the command:
#   node dist/src/main/api.js       REST API (default)
#   node dist/src/main/worker.js    Temporal worker and start reconciler
#   node dist/src/main/migrate.js   one-shot database migration
#
# Debian (glibc) rather than Alpine: @temporalio/core-bridge ships prebuilt native binaries for
# linux-gnu only. One pinned tag for every stage, so build and runtime use the same Node.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# --- deps: every dependency, dev ones included (typescript and tsx are needed to build) ---------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: tsc to dist/, the SQL migrations beside it, and the prebuilt workflow bundle ----------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY console ./console
RUN npm run build

# --- runtime: production dependencies and the compiled code, nothing else ---------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# @temporalio/worker is a production dependency: it carries the native core bridge and, should the
# prebuilt bundle be missing, the webpack bundler the worker falls back to.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The code stays owned by root and read-only for the process.
USER node
EXPOSE 3000
# No HEALTHCHECK here: the worker and the migrate job serve no HTTP. docker-compose.yml gives the API
# one that calls GET /health.
CMD ["node", "dist/src/main/api.js"]
