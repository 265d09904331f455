# syntax=docker/dockerfile:1
#
# The lambda-trends image: the `lambda-trends` binary and the built dashboard on Debian slim,
# running as an unprivileged user (65532). Every component runs from it with a subcommand:
#
#   docker build -t lambda-trends .
#   docker run --rm -p 8080:8080 lambda-trends      # `up` on the embedded backends: http://127.0.0.1:8080/
#   docker run --rm lambda-trends --config /etc/lambda-trends/lambda-trends.toml speed
#
# Needs BuildKit (the default builder of Docker 23+ and of `docker buildx`). The Helm chart in
# helm/lambda-trends runs this image with a read-only root filesystem.

# --- The binary --------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
# librdkafka is built from source by rdkafka-sys: a C/C++ toolchain, make, cmake (for the
# `cmake-build` feature), and OpenSSL and zlib headers (for TLS/SASL and compression).
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake build-essential libssl-dev pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What `cargo build` reads: the workspace manifest, the lock file, the pinned toolchain, every
# workspace member (add new members here; scripts/test-helm.sh checks it), the Avro schemas
# that crates/model includes at compile time, and benches/ (the root package's bench targets must
# exist for its manifest to load).
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY src ./src
COPY collector ./collector
COPY speed-layer ./speed-layer
COPY batch-layer ./batch-layer
COPY serving ./serving
COPY crates ./crates
COPY schemas ./schemas
COPY benches ./benches
# Cargo's registry and target directories are cache mounts, so rebuilds are incremental; the
# binary is copied out of the cache before the step ends.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin lambda-trends \
 && cp target/release/lambda-trends /usr/local/bin/lambda-trends

# --- The dashboard -----------------------------------------------------------------------------
FROM node:20-bookworm-slim AS dashboard
WORKDIR /web
COPY dashboard-web/package.json dashboard-web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboard-web/ ./
RUN npm run build

# --- The runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/lambda-trends \
 && chown 65532:65532 /var/lib/lambda-trends
COPY --from=builder /usr/local/bin/lambda-trends /usr/local/bin/lambda-trends
COPY --from=dashboard /web/dist /usr/share/lambda-trends/dashboard
# Fail the build, not the first pod, if the binary needs a shared library this image lacks.
RUN if ldd /usr/local/bin/lambda-trends | grep 'not found'; then exit 1; fi \
 && lambda-trends --version
ENV LT__SERVING__ASSETS_DIR=/usr/share/lambda-trends/dashboard
# The working directory holds ./data, the embedded backends' default data directory.
WORKDIR /var/lib/lambda-trends
USER 65532:65532
# 8080: serving (API, socket.io, dashboard, its /metrics); 9464: /metrics, /healthz and /readyz
# of collect, speed and ingest.
EXPOSE 8080 9464
ENTRYPOINT ["lambda-trends"]
CMD ["up", "--listen", "0.0.0.0:8080"]
