# Docktray as a container: `docktray serve` (the HTTP API, docs/api.md) watching the host it runs on.
# docs/container.md explains the mounts; docker-compose.yml is the example service.
#
#   docker build -t docktray .                      # builds the binary in the rust stage (needs a registry)
#   scripts/image.sh                                 # no registry: the same runtime image from the locally built
#                                                    # binary on a Debian 12 rootfs made with mmdebstrap
#
# BuildKit is needed (DOCKER_BUILDKIT=1 with Docker 20.10; the default since 23): it builds only the stages the
# runtime needs, so the `prebuilt` path never touches the rust image.

# The runtime base: debian:12-slim, or the local rootfs image scripts/image.sh makes when nothing can be pulled.
ARG BASE=debian:12-slim
# Where the binary comes from: `build` (compiled here) or `prebuilt` (a `docktray` file in the build context).
ARG BINARY=build

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# Only the command-line binary: the desktop app (webview, tray) is not part of the image.
RUN cargo build --release --locked -p docktray --bin docktray \
 && install -D -m 0755 target/release/docktray /out/docktray

FROM scratch AS prebuilt
COPY docktray /out/docktray

FROM ${BINARY} AS binary

FROM ${BASE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Docktray" \
      org.opencontainers.image.description="docktray serve: Docker containers, the host and Webdock servers over an HTTP API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/container.md" \
      org.opencontainers.image.base.name="debian:12-slim"
# ca-certificates: the Webdock API over TLS. The base image of scripts/image.sh has it already (no network there).
# The user: uid 10001, no login; it reaches the Docker socket through the socket's group (group_add in the
# compose file). Everything Docktray keeps (settings written back, the history) is under /var/lib/docktray.
RUN set -eu; \
    if ! dpkg-query -W -f='${Status}' ca-certificates 2>/dev/null | grep -q 'ok installed'; then \
      apt-get update; \
      apt-get install -y --no-install-recommends ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --system --uid 10001 --user-group --home-dir /var/lib/docktray --no-create-home \
      --shell /usr/sbin/nologin docktray; \
    install -d -o docktray -g docktray -m 0750 /var/lib/docktray /var/lib/docktray/config /var/lib/docktray/data
COPY --from=binary /out/docktray /usr/local/bin/docktray
ENV HOME=/var/lib/docktray \
    XDG_CONFIG_HOME=/var/lib/docktray/config \
    XDG_DATA_HOME=/var/lib/docktray/data \
    DOCKTRAY_API__LISTEN=0.0.0.0:7583 \
    DOCKTRAY_API__ALLOW_REMOTE=true
VOLUME ["/var/lib/docktray"]
USER docktray
EXPOSE 7583
# `docktray healthcheck` asks this container's own /healthz (the address [api] listen names, on loopback).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["docktray", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["docktray"]
CMD ["serve"]
