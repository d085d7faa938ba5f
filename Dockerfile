# syntax=docker/dockerfile:1
# trustgate: build with the dev toolchain, run with production dependencies only, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    TRUSTGATE_LOG_FORMAT=json \
    TRUSTGATE_LISTEN=0.0.0.0:5000
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY config/example.yaml ./config/example.yaml
# configuration: mount a file and set TRUSTGATE_CONFIG (e.g. /etc/trustgate/config.yaml);
# secrets: environment variables named by usernameEnv/passwordEnv; Redis: TRUSTGATE_REDIS_URL
USER node
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "healthcheck"]
ENTRYPOINT ["node", "--max-semi-space-size=32", "--initial-old-space-size=64", "dist/cli.js"]
CMD ["serve"]
