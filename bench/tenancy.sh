#!/usr/bin/env bash
# Manifest-GET rate with tenancy (berth.meta, Basic auth from the store) against the same server
# with an htpasswd file (Basic, every user may do everything), in alternating rounds (htpasswd,
# tenancy, htpasswd, ...) so that drift on a shared machine hits both alike. Prints each round's
# requests/s and the server's CPU time per request (user + system, from /proc: steadier than the
# rate when other work shares the cores), then the medians and their ratios.
# Issue 15's target: tenancy's rate >= 80 % of htpasswd's.
# Usage: bash bench/tenancy.sh [BERTH_BIN] [SECONDS_PER_RUN] [ROUNDS]   (defaults: build/berth 10 5)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${1:-$ROOT/build/berth}; SECS=${2:-10}; ROUNDS=${3:-5}
command -v wrk >/dev/null || { echo "needs wrk (scripts/setup.sh bench packages)" >&2; exit 2; }
W=$(mktemp -d /tmp/tenbench.XXXXXX)
cleanup() { [ -f "$W/pid" ] && kill "$(cat "$W/pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT INT TERM
echo pw | "$BIN" htpasswd add alice -f "$W/htpasswd" >/dev/null
base="version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/data
http:
  addr: 127.0.0.1:0
"
printf '%sauth:\n  htpasswd:\n    realm: r\n    path: %s\n' "$base" "$W/htpasswd" > "$W/htpasswd.yml"
printf '%sberth:\n  meta:\n    driver: sqlite\n    path: %s\n' "$base" "$W/meta.db" > "$W/tenancy.yml"
echo pw | "$BIN" user add alice -c "$W/tenancy.yml" >/dev/null
"$BIN" org add acme -c "$W/tenancy.yml" >/dev/null
"$BIN" grant alice write acme -c "$W/tenancy.yml" >/dev/null
start() { # start CONFIG -> PORT
  "$BIN" serve "$1" > "$W/log" 2>&1 &
  echo $! > "$W/pid"
  wait_port "$W/log" 200 || exit 1
}
stop() { # ends the server `start` recorded, by its pid, and waits until it is gone
  local p; p=$(cat "$W/pid"); kill "$p" 2>/dev/null || true
  while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  rm -f "$W/pid"
}
# Seed one image through the htpasswd server (same storage for both).
port=$(start "$W/htpasswd.yml")
cfg='{}'; d=sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
curl -fsS -u alice:pw -X POST --data-binary "$cfg" "http://127.0.0.1:$port/v2/acme/app/blobs/uploads/?digest=$d" >/dev/null
m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$d\",\"size\":2},\"layers\":[]}"
curl -fsS -u alice:pw -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$m" \
  "http://127.0.0.1:$port/v2/acme/app/manifests/v1" >/dev/null
stop
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
rate() { # rate CONFIG -> "requests/s cpu-microseconds-per-request"
  local p pid before out n rps after
  p=$(start "$1"); pid=$(cat "$W/pid")
  curl -fsS -u alice:pw -o /dev/null "http://127.0.0.1:$p/v2/acme/app/manifests/v1"  # warm caches
  before=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c8 -d"${SECS}s" -H "Authorization: Basic $(printf alice:pw | base64)" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$p/v2/acme/app/manifests/v1")
  after=$(cpu_ticks "$pid")
  stop
  n=$(awk '/requests in/ {print $1}' <<<"$out"); rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  python3 -c "print(f'{$rps} {($after-$before)*1e6/$(getconf CLK_TCK)/max($n,1):.1f}')"
}
: > "$W/results"
for r in $(seq 1 "$ROUNDS"); do
  read -r h hc <<<"$(rate "$W/htpasswd.yml")"
  read -r t tc <<<"$(rate "$W/tenancy.yml")"
  echo "$h $hc $t $tc" >> "$W/results"
  echo "round $r: htpasswd $h req/s ($hc us CPU/req), tenancy $t req/s ($tc us CPU/req)"
done
python3 - "$W/results" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
h, hc, t, tc = (statistics.median(c) for c in zip(*rows))
print(f"median htpasswd {h:.0f} req/s, {hc:.1f} us CPU/req; tenancy {t:.0f} req/s, {tc:.1f} us CPU/req")
print(f"median ratio tenancy/htpasswd: rate {t / h:.3f}, CPU per request {hc / tc:.3f} (>= 0.80 is the target)")
PY
