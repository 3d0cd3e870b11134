# syntax=docker/dockerfile:1
# The Almanac backend as a container: the `almanac` binary built without the demo and its stand-ins
# (`--no-default-features`), the sidebar bundle it serves at /sidebar/, a non-root user, and a health
# check on /api/v1/health. For Cloud Run and any other container host (README, "Running on Cloud Run").
#
#   docker build -t almanac .
#   docker run -p 8080:8080 -e OPENAI_API_KEY=… -e ALMANAC_OAUTH_CLIENT_IDS=… almanac
#
# On Google Cloud leave GOOGLE_APPLICATION_CREDENTIALS unset: the backend acts as the service's
# runtime service account through the metadata server (no key file in the image or the service).

ARG RUST_VERSION=1.95

# --- build: the backend and the sidebar bundle -------------------------------------------------
FROM rust:${RUST_VERSION}-slim-bookworm AS build
# wasm-bindgen-cli must be the Cargo.lock version of wasm-bindgen (scripts/install-web-tools.sh checks it).
ARG WASM_BINDGEN_VERSION=0.2.130
# binaryen for wasm-opt (sidebar/build.sh); pkg-config for native crates.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binaryen pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
    && cargo install --locked wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin almanac --no-default-features \
    && bash sidebar/build.sh

# --- run: the binary, the bundle, nothing else -------------------------------------------------
FROM debian:bookworm-slim AS run
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home almanac
WORKDIR /app
COPY --from=build /src/target/release/almanac /usr/local/bin/almanac
COPY --from=build /src/sidebar/dist /app/sidebar/dist
USER 10001
# Cloud Run sets PORT (8080 by default); ALMANAC_BIND must listen on every interface in a container.
ENV ALMANAC_BIND=0.0.0.0:8080 \
    ALMANAC_SIDEBAR_DIR=/app/sidebar/dist \
    DATABASE_URL=sqlite:///app/data/almanac.db \
    RUST_LOG=info
RUN mkdir -p /app/data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/api/v1/health"]
ENTRYPOINT ["almanac", "serve"]
