#!/usr/bin/env bash
# Replication throughput: a source Berth with an on-push rule to a destination Berth (Debian's
# docker-registry with DEST=distribution); pushes IMAGES images of one LAYER_MIB MiB layer each
# (distinct content) to the source with curl, and prints the time from the first push to the last
# image present at the destination, the MB/s that makes, and the same content copied again by a
# one-off `berth sync` into a fresh destination.
# Usage: bash bench/replication.sh [BERTH_BIN] [LAYER_MIB] [IMAGES]   (defaults: build/berth 64 4)
#        DEST=distribution bash bench/replication.sh ...
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${1:-$ROOT/build/berth}; MIB=${2:-64}; N=${3:-4}; DEST=${DEST:-berth}
W=$(mktemp -d /tmp/replbench.XXXXXX)
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT INT TERM
conf() { # conf NAME [EXTRA YAML] -> writes $W/NAME.yml
  printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:0\n%s' \
    "$W/$1" "${2:-}" > "$W/$1.yml"
}
start() { # start KIND NAME -> PORT
  local cmd=("$BIN" serve); [ "$1" = distribution ] && cmd=(/usr/bin/docker-registry serve)
  "${cmd[@]}" "$W/$2.yml" > "$W/$2.log" 2>&1 &
  PIDS+=($!)
  wait_port "$W/$2.log" 400 || exit 1
}
now() { date +%s.%N; }
conf dst; DP=$(start "$DEST" dst)
conf src "berth:
  replication:
    rules:
      - name: bench
        url: http://127.0.0.1:$DP
"
SP=$(start berth src)
# N images, each a distinct MIB MiB layer and a config (made before the clock starts).
for i in $(seq 1 "$N"); do
  head -c $((MIB << 20)) /dev/urandom > "$W/layer$i"
  printf '{"architecture":"amd64","os":"linux","i":%d}' "$i" > "$W/config$i"
done
push_blob() { # push_blob REPO FILE -> digest
  local d; d=sha256:$(sha256sum < "$2" | cut -d' ' -f1)
  curl -fsS -X POST --data-binary "@$2" -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$SP/v2/$1/blobs/uploads/?digest=$d" > /dev/null
  echo "$d"
}
T0=$(now)
for i in $(seq 1 "$N"); do
  c=$(push_blob bench/app "$W/config$i"); l=$(push_blob bench/app "$W/layer$i")
  m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$c\",\"size\":$(stat -c %s "$W/config$i")},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$l\",\"size\":$((MIB << 20))}]}"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$m" \
    "http://127.0.0.1:$SP/v2/bench/app/manifests/$i" > /dev/null
done
T1=$(now)
for _ in $(seq 1 6000); do
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
       "http://127.0.0.1:$DP/v2/bench/app/manifests/$N")" = 200 ] && break
  sleep 0.05
done
T2=$(now)
conf dst2; DP2=$(start "$DEST" dst2)
T3=$(now)
"$BIN" sync "http://127.0.0.1:$SP" "http://127.0.0.1:$DP2" > "$W/sync.out" 2>&1
T4=$(now)
awk -v n="$N" -v mib="$MIB" -v t0="$T0" -v t1="$T1" -v t2="$T2" -v t3="$T3" -v t4="$T4" -v dest="$DEST" 'BEGIN {
  mb = n * mib * 1.048576
  printf "destination %s, %d image(s) x %d MiB: pushes took %.2f s; on-push replication done %.2f s after the first push (%.1f MB/s, lag after the last push %.2f s); berth sync of the same: %.2f s (%.1f MB/s)\n",
    dest, n, mib, t1 - t0, t2 - t0, mb / (t2 - t0), t2 - t1, t4 - t3, mb / (t4 - t3) }'
