#!/usr/bin/env bash
# Garbage collection, Berth against Distribution 2.8 (Debian's docker-registry), offline, on two
# copies of one generated Distribution-layout tree (bench/gc/make_tree.py), with --delete-untagged.
# Prints a markdown table: wall time, CPU, peak RSS (/usr/bin/time -v), needed blobs deleted,
# garbage left.
#
#   bash bench/gc/run.sh --cold --dir /var/tmp   # the reference run: 1000 repositories (~207 000
#                                                # blobs) on disk, page cache dropped before each
#   bash bench/gc/run.sh --repos 100 --dir /dev/shm   # warm, in memory (quick check)
#   BERTH_BIN=build/berth BERTH_ARGS="--parallel 16" bash bench/gc/run.sh --cold --dir /var/tmp
#
# --cold runs `sync; echo 3 > /proc/sys/vm/drop_caches` before each collector (root only), so both
# read the tree from the disk as after a reboot; it refuses a tmpfs directory (nothing to read from
# a disk there) and refuses to run when the cache cannot be dropped. Without --cold the cache is
# left alone (warm: the tree was just written). The work directory is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPOS=1000
DIR=${TMPDIR:-/tmp}
COLD=no
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) REPOS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --cold) COLD=yes; shift ;;
    *) echo "usage: $0 [--repos N] [--dir DIR] [--cold]" >&2; exit 2 ;;
  esac
done
if [ "$COLD" = yes ]; then
  if [ "$(stat -f -c %T "$DIR")" = tmpfs ]; then
    echo "--cold needs a disk directory; $DIR is tmpfs (try --dir /var/tmp)" >&2; exit 2
  fi
  [ -w /proc/sys/vm/drop_caches ] || { echo "--cold needs root (drop_caches)" >&2; exit 2; }
fi
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

drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}
measure() {  # side, command...
  local side=$1; shift
  if [ "$COLD" = yes ]; then drop_caches; fi
  /usr/bin/time -v "$@" > "$W/$side.out" 2> "$W/$side.time" || {
    echo "$side failed:" >&2; tail -20 "$W/$side.time" >&2; exit 1; }
}
measure dist timeout 1800 "$DIST" garbage-collect --delete-untagged "$W/dist.yml"
# shellcheck disable=SC2086  # BERTH_ARGS is a list of flags
measure berth timeout 1800 "$BERTH" garbage-collect --delete-untagged --quiet ${BERTH_ARGS:-} \
  "$W/berth.yml"
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
print("%d needed blobs, %d garbage blobs; page cache dropped before each run (cold): %s\n" %
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
