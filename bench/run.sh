#!/usr/bin/env bash
# Berth vs CNCF Distribution benchmark suite. Usage: bash bench/run.sh [--quick] [--rounds N]
#        bash bench/run.sh --catalog   manifest-GET latency under /v2/_catalog traffic with 50 000
#                                      repositories, and the first catalog after start (bench/catalog.py,
#                                      Berth only, ~3 min)
#
# Builds berth, berth_loadgen and berth_micro_bench (RelWithDebInfo, build-bench/), then runs
# bench/bench.py, which starts Berth, Distribution and nginx on 127.0.0.1 (servers on core 0, load on
# core 1), seeds through the HTTP API and measures. Results: bench/results/<date>.json and .md, and the
# markdown table on stdout. Full run <= 20 min, --quick <= 5 min. See docs/performance.md.
#
# Environment: BERTH_BIN (a prebuilt berth to use instead of building), BUILD_DIR (default build-bench).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
EXTRA=()
CATALOG=0
for a in "$@"; do
  case "$a" in
    --catalog) CATALOG=1 ;;
    --quick|--rounds|[0-9]*) EXTRA+=("$a") ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

missing=()
for tool in docker-registry nginx wrk openssl taskset python3 cmake ninja; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing ${missing[*]}; install with: sudo BERTH_SETUP_BENCH=1 bash scripts/setup.sh" >&2
  exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "run.sh: needs 2 cores (server on core 0, load generator on core 1)" >&2
  exit 2
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=(berth_loadgen berth_micro_bench)
[ -n "${BERTH_BIN:-}" ] || targets+=(berth)
ninja -C "$BUILD_DIR" "${targets[@]}" >&2
BERTH="${BERTH_BIN:-$BUILD_DIR/berth}"

# The work dir holds both registries' storage, nginx's prefix and the generated blobs (~10 GiB at
# most, freed at exit). Its name avoids "berth" so nobody's `pkill -f berth` hits the run.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/regbench.XXXXXX")"
PY_PID=""
cleanup() {
  local rc=$?
  if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # Anything bench.py started and could not stop (it was killed hard): end it by recorded pid.
  if [ -f "$WORK/pids" ]; then
    while read -r pid; do
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    done <"$WORK/pids"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$CATALOG" = 1 ]; then
  timeout --signal=TERM --kill-after=30 600 python3 "$ROOT/bench/catalog.py" --berth "$BERTH" \
    --loadgen "$BUILD_DIR/bench/berth_loadgen" --workdir "$WORK" \
    --out "$ROOT/bench/results/$(date +%Y-%m-%d-%H%M%S)-catalog.json" &
  PY_PID=$!
  wait "$PY_PID"
  exit $?
fi

OUT="$ROOT/bench/results/$(date +%Y-%m-%d-%H%M%S).json"
LIMIT=2400
for a in "${EXTRA[@]}"; do [ "$a" = --quick ] && LIMIT=900; done
# A hard bound on the whole run; bench.py stops its servers on SIGTERM.
timeout --signal=TERM --kill-after=30 "$LIMIT" python3 "$ROOT/bench/bench.py" "${EXTRA[@]}" --berth "$BERTH" \
  --loadgen "$BUILD_DIR/bench/berth_loadgen" --micro "$BUILD_DIR/bench/berth_micro_bench" \
  --workdir "$WORK" --out "$OUT" &
PY_PID=$!
wait "$PY_PID"
