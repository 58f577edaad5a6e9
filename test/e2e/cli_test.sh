#!/usr/bin/env bash
# The command line as users run it: `berth config check`, REGISTRY_* overrides, the access log, and a
# SIGTERM that lets an in-flight request finish (http.draintimeout) and exits 0.
# Usage: cli_test.sh BERTH_BIN
set -uo pipefail
BERTH=${1:?berth binary}
T=$(mktemp -d)
PID=""
passed=0; failed=0
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
check() { if eval "$2"; then passed=$((passed+1)); echo "ok: $1"; else failed=$((failed+1)); echo "FAIL: $1"; fi; }

cat > "$T/good.yml" <<CFG
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $T/data
  delete:
    enabled: false
http:
  addr: 127.0.0.1:0
  draintimeout: 10s
  headers:
    X-Content-Type-Options: [nosniff]
CFG
out=$("$BERTH" config check "$T/good.yml" 2>&1); rc=$?
check "config check accepts a Distribution config (rc=$rc: $out)" '[ $rc = 0 ]'
sed 's/draintimeout: 10s/draintimeout: ten/' "$T/good.yml" > "$T/bad.yml"
out=$("$BERTH" config check "$T/bad.yml" 2>&1); rc=$?
check "a wrong value fails with the key's path, exit 1 not a crash ($out)" '[ $rc = 1 ] && echo "$out" | grep -q "http.draintimeout"'
sed 's/rootdirectory:/rootdir:/' "$T/good.yml" > "$T/unknown.yml"
out=$("$BERTH" config check "$T/unknown.yml" 2>&1); rc=$?
check "an unknown key is a warning naming it ($out)" \
  '[ $rc = 0 ] && echo "$out" | grep -q "storage.filesystem.rootdir"'
out=$("$BERTH" serve "$T/bad.yml" 2>&1); rc=$?
check "serve refuses a wrong value with the key's path (exit 2, rc=$rc)" '[ $rc = 2 ] && echo "$out" | grep -q "http.draintimeout"'

# Environment overrides win over the file (delete is disabled in the file). Started with a low soft
# open-file limit, which serve raises to the hard limit.
HARD_NOFILE=$(ulimit -Hn)
(
  ulimit -Sn 256
  REGISTRY_STORAGE_DELETE_ENABLED=true REGISTRY_HTTP_HEADERS_X_FRAME_OPTIONS=DENY \
    exec "$BERTH" serve "$T/good.yml"
) 2> "$T/log" &
PID=$!
for _ in $(seq 1 200); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/log" | head -1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
check "server started on a free port" '[ -n "$PORT" ]'
soft=$(awk '/Max open files/ {print $4}' "/proc/$PID/limits")
check "serve raises the soft open-file limit (256) to the hard one ($soft of $HARD_NOFILE)" \
  '[ "$HARD_NOFILE" = unlimited ] && [ "$soft" = unlimited ] || [ "$soft" = "$HARD_NOFILE" ]'
B="http://127.0.0.1:$PORT"
hdrs=$(curl -sS -m 10 -D - -o /dev/null "$B/v2/" | tr -d '\r')
check "custom header from the file" 'echo "$hdrs" | grep -qi "^X-Content-Type-Options: nosniff"'
check "custom header from REGISTRY_HTTP_HEADERS_*" 'echo "$hdrs" | grep -qi "^X-Frame-Options: DENY"'
D=$(printf 'hello' | sha256sum | cut -d' ' -f1)
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X POST --data-binary hello \
       -H 'Content-Type: application/octet-stream' "$B/v2/env/test/blobs/uploads/?digest=sha256:$D")
check "monolithic push (got $code)" '[ "$code" = 201 ]'
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X DELETE "$B/v2/env/test/blobs/sha256:$D")
check "REGISTRY_STORAGE_DELETE_ENABLED=true enables DELETE (got $code)" '[ "$code" = 202 ]'
check "access log has a line per request" \
  'grep -q "DELETE /v2/env/test/blobs/sha256:$D 202 .*http.response.status=202" "$T/log"'

# SIGTERM during a slow upload: the request finishes within the drain timeout, then the process exits 0.
LOC=$(curl -sS -m 10 -X POST -D - -o /dev/null "$B/v2/env/test/blobs/uploads/" | tr -d '\r' |
      sed -n 's/^[Ll]ocation: //p')
head -c 1000000 /dev/urandom > "$T/blob"
BD="sha256:$(sha256sum < "$T/blob" | cut -d' ' -f1)"
( head -c 500000 "$T/blob"; sleep 2; tail -c +500001 "$T/blob" ) |
  curl -sS -m 30 -o "$T/put.out" -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
       -T - "$LOC?digest=$BD" > "$T/put.code" &
CURL=$!
sleep 0.5
kill -TERM "$PID"
wait "$CURL"
check "in-flight upload completes during drain (got $(cat "$T/put.code"))" '[ "$(cat "$T/put.code")" = 201 ]'
wait "$PID"; rc=$?; PID=""
check "process exits 0 after SIGTERM (rc=$rc)" '[ $rc = 0 ]'
check "the drained blob is on disk" '[ -f "$T/data/docker/registry/v2/blobs/sha256/${BD:7:2}/${BD:7}/data" ]'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
