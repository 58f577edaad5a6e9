#!/usr/bin/env bash
# End-to-end storage guarantees against the real binary:
#  1. pushing and pulling a 2 GiB blob keeps the server's peak RSS under 100 MiB (streamed, never
#     buffered), and the pulled bytes hash to the pushed digest;
#  2. kill -9 in the middle of an upload loses nothing that was acknowledged: after a restart the
#     session reports the bytes on disk, resumes from there, and the blob publishes with the right digest;
#     no partial blob is ever visible.
# Usage: large_blob_test.sh BERTH_BIN   (bounded: every step has a timeout)
set -uo pipefail
BERTH=${1:?berth binary}
T=$(mktemp -d)
PID=""
passed=0; failed=0
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
check() { if eval "$2"; then passed=$((passed+1)); echo "ok: $1"; else failed=$((failed+1)); echo "FAIL: $1"; fi; }

cat > "$T/config.yml" <<CFG
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
CFG

start() {
  : > "$T/log"
  "$BERTH" serve "$T/config.yml" 2>>"$T/log" &
  PID=$!
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/log" | head -1)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "server did not start"; cat "$T/log"; exit 1
}
URL() { echo "http://127.0.0.1:$PORT$1"; }
rss_peak_kib() { awk '/VmHWM/ {print $2}' /proc/"$PID"/status; }
# Every file under blobs/, as "sha256:<hex>" for a blob's data file and as its path for anything else,
# sorted: what the registry has published, and nothing hidden beside it.
blobs_on_disk() {
  local root="$T/data/docker/registry/v2/blobs" f
  local re='/blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})/data$'
  [ -d "$root" ] || return 0
  find "$root" -type f | while read -r f; do
    if [[ $f =~ $re ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]:0:2}" ]; then
      echo "sha256:${BASH_REMATCH[2]}"
    else
      echo "$f"
    fi
  done | sort
}

start
SIZE=$((2 * 1024 * 1024 * 1024))
DIGEST="sha256:$(head -c $SIZE /dev/zero | sha256sum | cut -d' ' -f1)"

# 1. 2 GiB monolithic push (chunked transfer encoding from a pipe) and pull.
LOC=$(curl -sS -m 30 -X POST -D - -o /dev/null "$(URL /v2/big/blob/blobs/uploads/)" |
      tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
check "upload session started" '[ -n "$LOC" ]'
case "$LOC" in http*) ;; *) LOC=$(URL "$LOC");; esac
code=$(head -c $SIZE /dev/zero | curl -sS -m 300 -o /dev/null -w '%{http_code}' -X PUT \
       -H 'Content-Type: application/octet-stream' -T - "$LOC?digest=$DIGEST")
check "2 GiB push answers 201 (got $code)" '[ "$code" = 201 ]'
got=$(curl -sS -m 300 "$(URL /v2/big/blob/blobs/$DIGEST)" | sha256sum | cut -d' ' -f1)
check "2 GiB pull hashes to the pushed digest" '[ "sha256:$got" = "$DIGEST" ]'
peak=$(rss_peak_kib)
echo "peak RSS after 2 GiB push+pull: ${peak} KiB"
check "peak RSS under 100 MiB (${peak} KiB)" '[ "$peak" -lt 102400 ]'

# 2. kill -9 mid-upload, restart, resume.
LOC=$(curl -sS -m 30 -X POST -D - -o /dev/null "$(URL /v2/crash/test/blobs/uploads/)" |
      tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case "$LOC" in http*) ;; *) LOC=$(URL "$LOC");; esac
ID=${LOC##*/}
head -c 1048576 /dev/urandom > "$T/part1"
head -c 1048576 /dev/urandom > "$T/part2"
cat "$T/part1" "$T/part2" > "$T/whole"
WHOLE="sha256:$(sha256sum < "$T/whole" | cut -d' ' -f1)"
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/octet-stream' \
       -H "Content-Range: 0-1048575" --data-binary @"$T/part1" "$LOC")
check "first chunk accepted (got $code)" '[ "$code" = 202 ]'
# Start a slow second chunk, then kill the server while it is in flight.
( head -c 300000 "$T/part2"; sleep 5; tail -c +300001 "$T/part2" ) |
  curl -sS -m 20 -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' -T - "$LOC" 2>/dev/null &
CURL=$!
sleep 1
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
kill "$CURL" 2>/dev/null; wait "$CURL" 2>/dev/null
check "blobs/ holds exactly the committed blob after the kill ($(blobs_on_disk | tr '\n' ' '))" \
  '[ "$(blobs_on_disk)" = "$DIGEST" ]'
start
LOC="$(URL /v2/crash/test/blobs/uploads/$ID)"
RANGE=$(curl -sS -m 30 -D - -o /dev/null "$LOC" | tr -d '\r' | sed -n 's/^[Rr]ange: 0-//p')
check "session survives kill -9 with at least the acknowledged chunk (Range 0-$RANGE)" \
  '[ -n "$RANGE" ] && [ "$RANGE" -ge 1048575 ]'
NEXT=$((RANGE + 1))
tail -c +$((NEXT + 1)) "$T/whole" > "$T/rest"
REST=$(stat -c %s "$T/rest")
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
       -H "Content-Range: $NEXT-$((NEXT + REST - 1))" --data-binary @"$T/rest" "$LOC?digest=$WHOLE")
check "resumed upload completes with the right digest (got $code)" '[ "$code" = 201 ]'
got=$(curl -sS -m 30 "$(URL /v2/crash/test/blobs/$WHOLE)" | sha256sum | cut -d' ' -f1)
check "resumed blob reads back intact" '[ "sha256:$got" = "$WHOLE" ]'
check "blobs/ holds exactly the two committed blobs ($(blobs_on_disk | tr '\n' ' '))" \
  '[ "$(blobs_on_disk)" = "$(printf "%s\n" "$DIGEST" "$WHOLE" | sort)" ]'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
