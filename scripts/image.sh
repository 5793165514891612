#!/usr/bin/env bash
# Build the Docktray container image (Dockerfile's runtime stage) without any registry:
#   scripts/image.sh [--binary PATH] [--tag NAME]
# - The runtime base is debian:12-slim when the engine already has it; otherwise a Debian 12 rootfs made with
#   mmdebstrap from the Debian mirror (minbase, ca-certificates, no docs/man/locales, like the slim image),
#   imported as $BASE_TAG. The rootfs tarball is cached in $CACHE (keyed by this script's package list) and the
#   imported image is reused while it exists, so only the first build pays the ~1 min of mmdebstrap.
# - The binary is the locally built one (default: target/release/docktray, else target/debug/docktray); it is
#   copied into a small build context with the Dockerfile (`BINARY=prebuilt`), so the rust stage never runs.
# Prints the image tag on stdout. Uses DOCKER_HOST like the docker CLI. Needs root (or sudo) for mmdebstrap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TAG="${DOCKTRAY_IMAGE:-docktray:local}"
BASE_TAG="docktray-base:bookworm-slim"
CACHE="$TARGET/image-cache"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
PACKAGES=ca-certificates
binary=""

die() { echo "image.sh: $*" >&2; exit 1; }
say() { echo "image.sh: $*" >&2; }

while (($#)); do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --tag) TAG="${2:?--tag needs a name}"; shift 2 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# docker.io's CLI matches the 20.10 engine and builds with the engine's own BuildKit (no buildx plugin needed).
if [[ -n "${DOCKER_CLI:-}" ]]; then CLI="$DOCKER_CLI"
elif [[ -x /usr/bin/docker ]]; then CLI=/usr/bin/docker
else CLI="$(command -v docker || true)"; fi
[[ -n "$CLI" ]] || die "no docker CLI: run scripts/deps.sh test (installs docker.io)"
dk() { DOCKER_CONTEXT='' "$CLI" "$@"; }

if [[ -z "$binary" ]]; then
  for candidate in "$TARGET/release/docktray" "$TARGET/debug/docktray"; do
    [[ -x "$candidate" ]] && { binary="$candidate"; break; }
  done
  [[ -n "$binary" ]] || die "no docktray binary in $TARGET: run cargo build --release -p docktray --bin docktray (or give --binary PATH)"
fi
[[ -x "$binary" ]] || die "$binary is not an executable docktray binary"

# The base: a pulled debian:12-slim if the engine has one, else our imported rootfs (made once, then cached).
if dk image inspect debian:12-slim >/dev/null 2>&1; then
  base=debian:12-slim
else
  base="$BASE_TAG"
  if ! dk image inspect "$base" >/dev/null 2>&1; then
    key="$(printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$PACKAGES" "v1" | sha256sum | cut -c1-16)"
    rootfs="$CACHE/debian-$SUITE-slim-$key.tar"
    if [[ ! -f "$rootfs" || ! -s "$rootfs" ]]; then
      rm -rf "$rootfs"
      command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing: run scripts/deps.sh test (or apt-get install mmdebstrap)"
      sudo_cmd=()
      [[ $EUID -eq 0 ]] || sudo_cmd=(sudo)
      mkdir -p "$CACHE"
      # mmdebstrap picks the output format from the name: it must end in .tar.
      partial="$CACHE/partial-$key.tar"
      rm -rf "$partial"
      say "making a Debian $SUITE rootfs with mmdebstrap (once; cached in $rootfs)"
      # minbase + no recommends; documentation, man pages and locales left out as in debian:12-slim.
      "${sudo_cmd[@]}" mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
        --aptopt='Apt::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        "$SUITE" "$partial" \
        "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" \
        || { rm -rf "$partial"; die "mmdebstrap failed (is $MIRROR reachable?)"; }
      mv "$partial" "$rootfs"
    fi
    say "importing $rootfs as $base"
    dk import --change 'CMD ["/bin/bash"]' "$rootfs" "$base" >/dev/null || die "docker import of $rootfs failed"
  fi
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$ROOT/Dockerfile" "$context/Dockerfile"
# A hard link when on the same filesystem (the debug binary is ~100 MB), else a copy.
ln "$binary" "$context/docktray" 2>/dev/null || cp "$binary" "$context/docktray"
revision="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
previous="$(dk image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
say "building $TAG on $base from $binary"
DOCKER_BUILDKIT=1 dk build --quiet --target runtime \
  --build-arg BASE="$base" --build-arg BINARY=prebuilt \
  --build-arg VERSION="${version:-dev}" --build-arg REVISION="$revision" \
  --tag "$TAG" "$context" >/dev/null || die "docker build failed"
# The image this tag named before (an older binary) would otherwise stay behind untagged, ~100 MB a build.
current="$(dk image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
  dk image rm "$previous" >/dev/null 2>&1 || true
fi
echo "$TAG"
