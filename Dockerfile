# Multi-stage: compile TypeScript in a build stage, run compiled JavaScript
# with production dependencies only, as a non-root user, on the current Node
# LTS. NODE_ENV=production: the sandboxes and the demo never start unless
# GATEHOUSE_SANDBOX=1.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 GATEHOUSE_DATA_DIR=/var/lib/gatehouse
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
# The partner developer guide, served at /docs (src/docs/render.ts reads it at start).
COPY docs/partners ./docs/partners
COPY config ./config
RUN mkdir -p /var/lib/gatehouse && chown node:node /var/lib/gatehouse
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server.js"]
