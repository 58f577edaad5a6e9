#!/usr/bin/env bash
# What recording metrics costs on the hottest path (issue 13: must stay under 5 %): manifest GET by
# tag, 64 keep-alive connections, against two Berth processes sharing one storage root, one without
# a debug server ("off": nothing is recorded) and one with http.debug.prometheus enabled ("on").
# Rounds alternate off/on so that drift in the machine's load hits both alike. Prints requests/s
# and the server's CPU time per request (utime+stime from /proc, steadier than requests/s on a
# shared machine), per round and as medians.
#
#   bash bench/metrics_cost.sh [BERTH_BIN] [LOADGEN_BIN] [ROUNDS=5] [SECONDS=5]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BERTH=${1:-$ROOT/build/berth}
LOADGEN=${2:-$ROOT/build/bench/berth_loadgen}
ROUNDS=${3:-5}
SECS=${4:-5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/metricscost.XXXXXX")
declare -A PID PORT
cleanup() {
  for s in "${!PID[@]}"; do kill -TERM "${PID[$s]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() {  # start NAME [extra http YAML lines]
  local name=$1; shift
  { printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$WORK/data"
    printf 'http:\n  addr: 127.0.0.1:0\n'
    for l in "$@"; do printf '%s\n' "$l"; done
  } >"$WORK/$name.yml"
  : >"$WORK/$name.log"  # exists before the first poll (the background job opens it later)
  taskset -c 0 "$BERTH" serve "$WORK/$name.yml" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  PORT[$name]=$(wait_port "$WORK/$name.log" 200) || exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start off
start on "  debug:" "    addr: 127.0.0.1:0" "    prometheus:" "      enabled: true"
"$LOADGEN" seed-tags --port "${PORT[off]}" --repo bench/tags --tags 10 --parallel 4 >/dev/null
path=/v2/bench/tags/manifests/latest
accept="Accept: application/vnd.oci.image.manifest.v1+json"
hz=$(getconf CLK_TCK)
echo "round side rps cpu_us_per_req"
for r in $(seq 1 "$ROUNDS"); do
  for side in off on; do
    c0=$(cpu_ticks "${PID[$side]}")
    out=$(taskset -c 1 "$LOADGEN" head --port "${PORT[$side]}" --method GET --path "$path" \
      --header "$accept" --conns 64 --duration "$SECS")
    c1=$(cpu_ticks "${PID[$side]}")
    python3 - "$r" "$side" "$out" "$c0" "$c1" "$hz" "$SECS" >>"$WORK/rows" <<'PY'
import json, sys
r, side, out, c0, c1, hz, secs = sys.argv[1:]
j = json.loads(out)
n = j["rps"] * float(secs)
cpu_us = (int(c1) - int(c0)) / int(hz) * 1e6 / max(1.0, n)
print(f"{r} {side} {j['rps']:.0f} {cpu_us:.1f}")
PY
    tail -n1 "$WORK/rows"
  done
done
# Threads per server: both should run alike (a pool grown differently would skew the comparison).
for side in off on; do echo "$side server threads: $(ls "/proc/${PID[$side]}/task" | wc -l)"; done
python3 - "$WORK/rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {s: (statistics.median(float(r[2]) for r in rows if r[1] == s),
           statistics.median(float(r[3]) for r in rows if r[1] == s)) for s in ("off", "on")}
print(f"median rps: off {med['off'][0]:.0f}, on {med['on'][0]:.0f} "
      f"({(med['on'][0] / med['off'][0] - 1) * 100:+.1f} %)")
print(f"median server CPU per request: off {med['off'][1]:.1f} us, on {med['on'][1]:.1f} us "
      f"({(med['on'][1] / med['off'][1] - 1) * 100:+.1f} %)")
PY
