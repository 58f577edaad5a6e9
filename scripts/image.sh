#!/usr/bin/env bash
# Builds the Berth container image offline, FROM scratch, and writes it as build/berth-image.tar
# (docker-archive: `docker load` and `podman load` accept it), tagged berth:latest.
#
#   bash scripts/image.sh                  # builds build/berth first when it is missing
#   BERTH_BIN=path/to/berth BERTH_IMAGE_OUT=/tmp/x.tar bash scripts/image.sh
#   BERTH_IMAGE_BUILDER=docker bash scripts/image.sh   # buildah (default when present), podman, docker
#
# The context (build/image/) is prepared here: the stripped binary, exactly the shared libraries
# `ldd` lists plus the loader, the CA bundle, passwd/group with the `berth` user, the default config
# (deploy/config.yml). Nothing is downloaded: buildah and podman run with a private, throw-away
# storage; docker uses the daemon at $DOCKER_HOST (its legacy builder: FROM scratch needs no pull).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BERTH_BIN:-$ROOT/build/berth}
OUT=${BERTH_IMAGE_OUT:-$ROOT/build/berth-image.tar}
TAG=${BERTH_IMAGE_TAG:-berth:latest}
BERTH_UID=65532

die() { echo "image.sh: $*" >&2; exit 1; }

if [ ! -x "$BIN" ]; then
  [ -z "${BERTH_BIN:-}" ] || die "BERTH_BIN=$BIN is not an executable"
  echo "image.sh: building build/berth first"
  BERTH_JOBS=${BERTH_JOBS:-2} bash scripts/build.sh
fi
command -v ldd >/dev/null || die "ldd is missing (apt-get install libc-bin)"
[ -f /etc/ssl/certs/ca-certificates.crt ] || die "no CA bundle: apt-get install ca-certificates"

builder=${BERTH_IMAGE_BUILDER:-}
if [ -z "$builder" ]; then
  for b in buildah podman docker; do
    if command -v "$b" >/dev/null; then builder=$b; break; fi
  done
fi
[ -n "$builder" ] || die "no image builder: apt-get install buildah (or podman, or docker.io)"

CTX=$(dirname "$OUT")/image-context.$$
TMP=$(mktemp -d)
cleanup() {
  # buildah/podman storage made by root in a user namespace-free vfs: plain rm works.
  rm -rf "$CTX" "$TMP"
}
trap cleanup EXIT
mkdir -p "$CTX/rootfs"
R=$CTX/rootfs

# --- rootfs
install -d -m 0755 "$R/usr/bin" "$R/etc/ssl/certs" "$R/etc/docker/registry"
install -d -m 1777 "$R/tmp"
objcopy --strip-debug --strip-unneeded --remove-section=.comment "$BIN" "$R/usr/bin/berth"
chmod 0755 "$R/usr/bin/berth"
# Exactly what the dynamic linker will load: each resolved library path, and the loader itself,
# copied (dereferenced) to the path the binary asks for.
mapfile -t libs < <(ldd "$BIN" | awk '
  $2 == "=>" && $3 ~ /^\// { print $3; next }
  $1 ~ /^\// { print $1 }')
[ "${#libs[@]}" -gt 0 ] || die "ldd found no libraries in $BIN (a static build needs none: fine, but say so)"
for lib in "${libs[@]}"; do
  install -d "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done
# The loader is also reached through /lib64 on amd64 (the PT_INTERP path); keep both spellings.
interp=$(readelf -l "$BIN" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -n "$interp" ] && [ ! -e "$R$interp" ]; then
  install -d "$R$(dirname "$interp")"
  cp -L "$interp" "$R$interp"
fi
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
cp "$ROOT/deploy/config.yml" "$R/etc/docker/registry/config.yml"
printf 'root:x:0:0:root:/root:/sbin/nologin\nberth:x:%d:%d:Berth registry:/var/lib/registry:/sbin/nologin\n' \
  "$BERTH_UID" "$BERTH_UID" > "$R/etc/passwd"
printf 'root:x:0:\nberth:x:%d:\n' "$BERTH_UID" > "$R/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$R/etc/nsswitch.conf"
install -d -m 0755 -o "$BERTH_UID" -g "$BERTH_UID" "$R/var/lib/registry"
chmod 0644 "$R/etc/passwd" "$R/etc/group" "$R/etc/nsswitch.conf" "$R/etc/docker/registry/config.yml"
cp "$ROOT/deploy/Containerfile" "$CTX/Containerfile"

# The binary must run from this rootfs alone (catches a library ldd did not list).
if command -v chroot >/dev/null && [ "$(id -u)" = 0 ]; then
  chroot "$R" /usr/bin/berth version >/dev/null || die "the binary does not run inside the image's rootfs"
fi

VERSION=$("$BIN" version | awk '{print $2}')
REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
CREATED=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --build-arg "CREATED=$CREATED")
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"

case "$builder" in
  buildah|podman)
    store=(--root "$TMP/root" --runroot "$TMP/run" --storage-driver vfs)
    if [ "$builder" = buildah ]; then
      buildah "${store[@]}" build --format docker --network none --pull=false "${args[@]}" \
        -t "$TAG" -f "$CTX/Containerfile" "$CTX" >&2
      buildah "${store[@]}" push -q "$TAG" "docker-archive:$OUT:$TAG" >&2
    else
      podman "${store[@]}" --cgroup-manager cgroupfs --events-backend file build --format docker \
        --network none --pull=never "${args[@]}" -t "$TAG" -f "$CTX/Containerfile" "$CTX" >&2
      podman "${store[@]}" --events-backend file save --format docker-archive -o "$OUT" "$TAG" >&2
    fi
    ;;
  docker)
    DOCKER_BUILDKIT=0 docker build -q "${args[@]}" -t "$TAG" -f "$CTX/Containerfile" "$CTX" >&2
    docker save -o "$OUT" "$TAG"
    ;;
  *) die "unknown BERTH_IMAGE_BUILDER=$builder (buildah, podman or docker)" ;;
esac
rootfs_kb=$(du -sk "$R" | cut -f1)
echo "image.sh: $OUT ($TAG, $builder): archive $(du -h "$OUT" | cut -f1), rootfs ${rootfs_kb} KiB" \
  "(berth $(du -h "$R/usr/bin/berth" | cut -f1), ${#libs[@]} libraries)"
