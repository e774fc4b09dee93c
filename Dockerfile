# One image for both roles: `streamfed media` and `streamfed operator`.
# The build stage runs the same install steps as the README (npm ci, scripts/build-mediasoup-worker.sh, and for
# a worker compiled here scripts/install-system-packages.sh for its Debian build dependencies).
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/apt-packages.txt scripts/install-system-packages.sh scripts/build-mediasoup-worker.sh scripts/
COPY scripts/mediasoup-worker scripts/mediasoup-worker
# The worker `npm run setup` already built in this checkout (.cache/mediasoup-worker/<version>/mediasoup-worker,
# the one part of .cache that .dockerignore lets through) is reused when its version is the locked mediasoup's;
# otherwise it is compiled below (~10 minutes). package.json only keeps this COPY valid when there is none.
COPY package.json .cache/mediasoup-worke[r] .cache/mediasoup-worker/
# Only the worker's build dependencies, and only to compile it: the browser, etcd, Go and Prometheus are for the
# test suite.
RUN v=$(node -p 'require("./package-lock.json").packages["node_modules/mediasoup"].version') \
 && if [ -x ".cache/mediasoup-worker/$v/mediasoup-worker" ]; then echo "mediasoup worker $v: from the build context"; \
    else sed -n '/^# mediasoup worker/,/^#/p' scripts/apt-packages.txt | grep -v '^#' > /tmp/apt-packages.txt \
      && cp /tmp/apt-packages.txt scripts/apt-packages.txt && bash scripts/install-system-packages.sh; fi
RUN MEDIASOUP_WORKER_BIN=skip-prebuilt npm ci --no-audit --no-fund
RUN cp "$(bash scripts/build-mediasoup-worker.sh | tail -n 1)" /src/mediasoup-worker
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs scripts/
COPY src src
RUN npm run build && npm prune --omit=dev

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
