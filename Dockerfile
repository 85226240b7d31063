# syntax=docker/dockerfile:1
#
# One image per feature set of the `shop` binary (BuildKit required for the cache mounts):
#
#   docker build -t shop:monolith .                                  # every domain module + MySQL
#   docker build --build-arg FEATURES=auth,mysql  -t shop:auth  .    # one service of the split
#   docker build --build-arg FEATURES=users,mysql -t shop:users .
#
# FEATURES names root Cargo features: the domain modules to compile in, plus the
# database backend (`mysql` for deployments; `sqlite` works too but needs a
# writable data/ directory). The modules left out are reached over HTTP through
# SHOP__REMOTE__<MODULE>__URL (see k8s/README.md).

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

############################ builder ############################
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder

# mysqlclient-sys links the system libmariadb found through pkg-config.
# Unpinned on purpose: the Debian release pins them, security updates should land.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb-dev libmariadb-dev-compat pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The workspace is a tree of path crates, so the manifests alone cannot build
# the dependency graph; copy everything (.dockerignore keeps target/, data/ and
# .git/ out) and let the cache mounts below keep the registry and target/.
COPY . .

ARG FEATURES="auth,users,catalog,payments,orders,mysql"
# The target directory is a cache mount, so the binary is copied out of it in
# the same step. Builds of different FEATURES share it safely (cargo keys its
# artefacts by feature set); `sharing=locked` serialises parallel builds.
RUN --mount=type=cache,id=shop-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=shop-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=shop-target,target=/src/target,sharing=locked \
    cargo build --release --locked --no-default-features --features "$FEATURES" \
    && install -D -m 0755 target/release/shop /out/shop \
    && /out/shop --version \
    && /out/shop modules

############################ runtime ############################
FROM debian:${DEBIAN_RELEASE}-slim AS runtime

ARG FEATURES="auth,users,catalog,payments,orders,mysql"
LABEL org.opencontainers.image.title="shop" \
      org.opencontainers.image.description="shop e-commerce backend (features: ${FEATURES})" \
      org.opencontainers.image.licenses="MIT" \
      shop.features="${FEATURES}"

# libmariadb3 is the client library the binary links (it ships the
# caching_sha2_password plugin MySQL 8 needs); ca-certificates for TLS.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin shop

COPY --from=builder /out/shop /usr/local/bin/shop
# Read at start from the working directory: config/default.toml, config/$SHOP_ENV.toml.
# Owned by root, so the service cannot change its own configuration.
COPY config/ /app/config/

WORKDIR /app
ENV SHOP_ENV=production
USER 10001:10001
EXPOSE 8080

# No HEALTHCHECK: the slim image has no HTTP client. Kubernetes probes
# GET /health/live and /health/ready instead (k8s/).
CMD ["shop", "serve", "--bind", "0.0.0.0:8080"]
