# One image for all five Kizuna services; the service is chosen by SERVICE
# (build arg, also the default of the SERVICE env var, which can be overridden at run time):
#
#   docker build --build-arg SERVICE=ingestion -t kizuna-ingestion .
#   docker run -e SERVICE=notification -e PORT=3005 ... kizuna-ingestion   # same image, other service
#
# Entry point of a service: dist/apps/<service>/src/main.js (SWC output mirroring the source tree).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------
# build: install all dependencies (dev included) and compile every app and lib
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# npm 11 honours the `allowScripts` field of package.json (only the allow-listed
# install scripts run), the same as in local development.
ARG NPM_VERSION=11.19.1
ENV CI=true \
    NX_DAEMON=false \
    NX_NO_CLOUD=true \
    NX_TUI=false \
    SCARF_ANALYTICS=false
RUN npm install --global "npm@${NPM_VERSION}" && npm --version

# Dependencies first, so this layer is cached until the lockfile changes.
COPY package.json package-lock.json .npmrc ./
# `npm install`, not `npm ci`: the lockfile lacks the optional native packages of other platforms
# (@swc/core-darwin-*, ...), which the registry this project is developed against does not serve.
RUN npm install --no-audit --no-fund

COPY . .
RUN npm run build \
 && for app in apps/*/; do \
      app="$(basename "$app")"; \
      test -f "dist/apps/${app}/src/main.js" \
        || { echo "build did not produce dist/apps/${app}/src/main.js" >&2; exit 1; }; \
    done

# ---------------------------------------------------------------------------
# runtime: production dependencies + compiled output, non-root
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps

# No production dependency needs an install script (the two that have one,
# @scarf/scarf and protobufjs, are denied in allowScripts), so skip them all.
COPY package.json package-lock.json .npmrc ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

COPY --from=build /app/dist ./dist

# Declared late so that the layers above are shared by the images of all five services.
ARG SERVICE=ingestion
ENV SERVICE=${SERVICE}

# Files stay root-owned (read-only for the app); the process runs as the image's `node` user.
USER node

# Informational: ingestion 3001, health-scoring 3002, lifecycle 3003, escalation-routing 3004, notification 3005.
EXPOSE 3001 3002 3003 3004 3005

# Slim images have no curl: probe readiness with Node's fetch on $PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "const p=process.env.PORT;if(!p)process.exit(1);fetch('http://127.0.0.1:'+p+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["sh", "-c", "test -f \"dist/apps/${SERVICE}/src/main.js\" || { echo \"kizuna: unknown SERVICE '${SERVICE}'\" >&2; exit 64; }; exec node \"dist/apps/${SERVICE}/src/main.js\""]
