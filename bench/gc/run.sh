#!/usr/bin/env bash
# Garbage collection, Berth against Distribution 2.8 (Debian's docker-registry), offline, on two
# copies of one generated Distribution-layout tree (bench/gc/make_tree.py), with --delete-untagged.
# Prints a markdown table: time, peak RSS (/usr/bin/time -v), needed blobs deleted, garbage left.
#
#   bash bench/gc/run.sh                      # 1000 repositories (~207 000 blobs), under $TMPDIR
#   bash bench/gc/run.sh --repos 100 --dir /dev/shm
#   BERTH_BIN=build/berth bash bench/gc/run.sh
#
# The page cache is dropped before each run when /proc/sys/vm/drop_caches is writable (root), and
# the table says whether it was. The work directory is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPOS=1000
DIR=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) REPOS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "usage: $0 [--repos N] [--dir DIR]" >&2; exit 2 ;;
  esac
done
BERTH=${BERTH_BIN:-build/berth}
DIST=${DIST_BIN:-docker-registry}
[ -x "$BERTH" ] || { echo "no berth binary at $BERTH (build it, or set BERTH_BIN)" >&2; exit 2; }
command -v "$DIST" >/dev/null || { echo "$DIST not found (apt-get install docker-registry)" >&2; exit 2; }
W=$(mktemp -d "$DIR/berth-gc-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "generating $REPOS repositories in $W ..." >&2
python3 bench/gc/make_tree.py "$W/berth" --repos "$REPOS" >&2
cp -a "$W/berth" "$W/dist"
for side in berth dist; do
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' \
    "$W/$side" > "$W/$side.yml"
done

COLD=no
drop_caches() {
  sync
  if [ -w /proc/sys/vm/drop_caches ] && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then COLD=yes; fi
}
measure() {  # side, command...
  local side=$1; shift
  drop_caches
  /usr/bin/time -v "$@" > "$W/$side.out" 2> "$W/$side.time" || {
    echo "$side failed:" >&2; tail -20 "$W/$side.time" >&2; exit 1; }
}
measure dist timeout 1800 "$DIST" garbage-collect --delete-untagged "$W/dist.yml"
measure berth timeout 1800 "$BERTH" garbage-collect --delete-untagged --quiet "$W/berth.yml"
tail -1 "$W/berth.out" >&2

python3 - "$W" "$COLD" <<'PY'
import os, re, sys
w, cold = sys.argv[1], sys.argv[2]
needed = open(os.path.join(w, "berth", "needed.txt")).read().split()
garbage = open(os.path.join(w, "berth", "garbage.txt")).read().split()
def stored(side, d):
    h = d.split(":")[1]
    return os.path.exists(os.path.join(w, side, "docker/registry/v2/blobs/sha256", h[:2], h, "data"))
def timing(side):
    t = open(os.path.join(w, side + ".time")).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
    secs = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    cpu = sum(float(re.search(k + r" time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
    return secs, rss, cpu
rows = {}
for side in ("dist", "berth"):
    secs, rss, cpu = timing(side)
    lost = sum(stored(side, d) is False for d in needed)
    left = sum(stored(side, d) for d in garbage)
    rows[side] = (secs, rss, lost, left, cpu)
print("%d needed blobs, %d garbage blobs; page cache dropped before each run: %s\n" %
      (len(needed), len(garbage), cold))
print("| collector | wall time | CPU (user+sys) | peak RSS | needed blobs deleted | garbage left |")
print("|---|---:|---:|---:|---:|---:|")
names = {"dist": "Distribution 2.8.2 `docker-registry garbage-collect --delete-untagged`",
         "berth": "Berth `berth garbage-collect --delete-untagged`"}
for side in ("dist", "berth"):
    s, r, lost, left, cpu = rows[side]
    print("| %s | %.1f s | %.1f s | %.0f MiB | %d | %d |" % (names[side], s, cpu, r, lost, left))
d, b = rows["dist"], rows["berth"]
print("\nBerth/Distribution: wall time %.2fx, CPU %.2fx, peak RSS %.2fx" %
      (b[0] / d[0], b[4] / d[4], b[1] / d[1]))
PY
