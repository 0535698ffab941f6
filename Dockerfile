# syntax=docker/dockerfile:1
# Herald's image: compiled with the full toolchain, run on a small Node 24 image with only dist/ and production dependencies.

# The build stage is glibc-based: npm scripts run the pinned node@24 devDependency, a glibc binary.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies are plain JavaScript (no native addons), so they install on the runtime's base.
FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-alpine AS runtime
ENV NODE_ENV=production
# A small young generation: Herald's per-event garbage dies young. Measured on the delivery path after issue 15,
# 16 MiB semi-spaces save about 5% of the CPU per notification against 4 MiB, for ~35 MB more RSS with 10,000 Alerts
# and ~100 MB more at the peak of a burst of 256 KiB events (bench/RESULTS.md): not worth it by default. The
# benchmarks read this line (bench/lib.mjs).
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Numeric, so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9090 8080 9440
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
