# attune-server image: Debian 12 builder with the -dev packages -> slim runtime with only the
# shared libraries. Both stages install packages from scripts/packages/*.txt (the lists
# scripts/setup.sh uses: one source of truth) through deploy/docker/install-packages.sh.
#
#   docker build -t attune:dev --build-arg GIT_SHA=$(git rev-parse --short=12 HEAD) .
#   docker run --rm -p 50051:50051 -p 9464:9464 -v attune-data:/data attune:dev
#
# Pin the base image for reproducible builds: --build-arg DEBIAN=debian:12-slim@sha256:...
# tests/deploy/test_docker.py checks this file (no Docker engine runs in CI).
ARG DEBIAN=debian:12-slim

# ---- builder --------------------------------------------------------------------------------
FROM ${DEBIAN} AS builder
COPY deploy/docker/install-packages.sh /usr/local/sbin/install-packages.sh
COPY scripts/packages/ /src/scripts/packages/
RUN sh /usr/local/sbin/install-packages.sh /src/scripts/packages/build.txt

WORKDIR /src
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY server/ server/
COPY client/ client/
# The build stamps attune_build_info{git_sha}; .git is not in the build context.
ARG GIT_SHA=unknown
ARG BUILD_JOBS=2
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DATTUNE_BUILD_TESTS=OFF -DATTUNE_BUILD_BENCH=OFF -DATTUNE_GIT_SHA="${GIT_SHA}" \
 && cmake --build build -j "${BUILD_JOBS}" --target attune-server attune \
 && strip --strip-unneeded build/server/attune-server build/client/cli/attune

# ---- runtime --------------------------------------------------------------------------------
FROM ${DEBIAN} AS runtime
COPY deploy/docker/install-packages.sh /usr/local/sbin/install-packages.sh
COPY scripts/packages/runtime.txt /tmp/packages/runtime.txt
RUN sh /usr/local/sbin/install-packages.sh /tmp/packages/runtime.txt \
 && rm -rf /tmp/packages /usr/local/sbin/install-packages.sh \
 && groupadd --gid 1000 attune \
 && useradd --uid 1000 --gid 1000 --home-dir /data --no-create-home --shell /usr/sbin/nologin attune \
 && mkdir -p /data \
 && chown 1000:1000 /data

COPY --from=builder /src/build/server/attune-server /usr/local/bin/attune-server
COPY --from=builder /src/build/client/cli/attune /usr/local/bin/attune

# Every server flag has an ATTUNE_* variable (attune-server --help); these are the image defaults.
ENV ATTUNE_DATA_DIR=/data \
    ATTUNE_LISTEN=0.0.0.0:50051 \
    ATTUNE_METRICS_LISTEN=0.0.0.0:9464 \
    ATTUNE_SERVER=localhost:50051
VOLUME /data
WORKDIR /data
USER 1000:1000
# gRPC, Prometheus /metrics, and the plaintext health-only port used when TLS is on
# (ATTUNE_HEALTH_LISTEN=0.0.0.0:50052, see deploy/k8s/overlays/example).
EXPOSE 50051 9464 50052
# SIGTERM: NOT_SERVING, optional delay, drain in-flight RPCs, checkpoint jobs, exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/attune", "health"]
# tini is PID 1: it forwards SIGTERM to the server and reaps zombies.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/attune-server"]
CMD []
