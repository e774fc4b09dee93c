# One image for both roles: `streamfed media` and `streamfed operator`.
# The build stage runs the same install steps as the README (scripts/install-system-packages.sh for the
# mediasoup worker's Debian build dependencies, npm ci, scripts/build-mediasoup-worker.sh).
FROM node:20-bookworm AS build
WORKDIR /src
COPY scripts/apt-packages.txt scripts/install-system-packages.sh scripts/
# Only the worker's build dependencies: the browser, etcd, Go and Prometheus are for the test suite.
RUN sed -n '/^# mediasoup worker/,/^#/p' scripts/apt-packages.txt | grep -v '^#' > scripts/apt-packages.media.txt \
 && cp scripts/apt-packages.media.txt scripts/apt-packages.txt \
 && bash scripts/install-system-packages.sh
COPY package.json package-lock.json ./
RUN MEDIASOUP_WORKER_BIN=skip-prebuilt npm ci --no-audit --no-fund
COPY scripts/build-mediasoup-worker.sh scripts/
COPY scripts/mediasoup-worker scripts/mediasoup-worker
RUN bash scripts/build-mediasoup-worker.sh
COPY tsconfig.json tsconfig.build.json ./
COPY src src
RUN npm run build && npm prune --omit=dev \
 && cp .cache/mediasoup-worker/*/mediasoup-worker /src/mediasoup-worker

FROM node:20-bookworm-slim
# Runtime libraries of the worker (built against Debian's shared libraries).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libuv1 libsrtp2-1 libusrsctp2 libflatbuffers2 \
      libabsl20220623 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/mediasoup-worker /app/bin/mediasoup-worker
ENV MEDIASOUP_WORKER_BIN=/app/bin/mediasoup-worker NODE_ENV=production
USER node
EXPOSE 8080 8443 8081 8444 8082
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["media"]
