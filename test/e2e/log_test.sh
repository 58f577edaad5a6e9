#!/usr/bin/env bash
# The log as an operator's tools read it (issue 10 §1 "Log injection", §3): in every
# log.formatter, a user name, user agent or path with CR/LF, quotes or other control characters
# stays inside its own record; json and logstash lines each parse; log.fields are on every line;
# log.accesslog.disabled and log.level are honoured. Usage: log_test.sh BERTH_BIN
set -uo pipefail
BERTH=$(realpath "${1:?berth binary}")
T=$(mktemp -d)
PID=""
passed=0; failed=0
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
ok() { passed=$((passed+1)); echo "ok: $1"; }
bad() { failed=$((failed+1)); echo "FAIL: $1"; }

echo "pw-alice" | "$BERTH" htpasswd add alice -f "$T/htpasswd" --cost 4 >/dev/null
EVIL_USER=$'evil\r\nlevel=error msg="forged user"\x1b[31m'
# Header values may not hold control characters other than tab (the server answers 400 before
# logging them), but quotes, tabs and bytes that are not UTF-8 do reach the log.
EVIL_UA=$'agent "quoted"\t\xff\xfe end'

# run NAME FORMATTER [extra log YAML lines...]: serve, send hostile requests, stop; the log is
# $T/NAME.log
run() {
  local name=$1 fmt=$2; shift 2
  { echo "version: 0.1"
    echo "log:"; echo "  formatter: $fmt"; echo "  fields:"; echo "    service: registry"
    echo "    env: 'a \"b\"'"
    for line in "$@"; do echo "$line"; done
    echo "storage:"; echo "  filesystem:"; echo "    rootdirectory: $T/data"
    echo "http:"; echo "  addr: 127.0.0.1:0"
    echo "auth:"; echo "  htpasswd:"; echo "    realm: r"; echo "    path: $T/htpasswd"
  } > "$T/$name.yml"
  "$BERTH" serve "$T/$name.yml" 2>"$T/$name.log" &
  PID=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$name.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { bad "$name: server did not start: $(cat "$T/$name.log")"; return 1; }
  local b="http://127.0.0.1:$port" auth i
  auth="Basic $(printf '%s:wrong' "$EVIL_USER" | base64 -w0)"
  # Five failures lock the (address, user) pair out, which logs the user name at warning level.
  for i in 1 2 3 4 5 6; do
    curl -sS -m 10 -o /dev/null -H "Authorization: $auth" -A "$EVIL_UA" "$b/v2/" || true
  done
  curl -sS -m 10 -o /dev/null -u alice:pw-alice -A "$EVIL_UA" "$b/v2/a%0d%0alevel=error/tags/list" || true
  kill -TERM "$PID"; wait "$PID"; PID=""
}

# Every line of FILE is one JSON object with the configured fields and a message key.
check_json() {
  local fmt=$1 msgkey=$2
  if python3 - "$T/$fmt.log" "$msgkey" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "log does not end with a newline"
n = 0
for raw in lines[:-1]:
    rec = json.loads(raw)  # raises on any invalid line
    assert rec["service"] == "registry" and rec["env"] == 'a "b"', raw
    assert sys.argv[2] in rec, raw
    n += 1
assert n >= 8, n
PY
  then ok "$fmt: every line is one JSON object carrying log.fields"
  else bad "$fmt: invalid lines in: $(head -c 3000 "$T/$fmt.log")"; fi
}

run json json
check_json json msg
if grep -qF '"http.request.useragent":"agent \"quoted\"\t\ufffd\ufffd end"' "$T/json.log"; then
  ok "json: the user agent is a field, escaped"
else bad "json: user agent field missing or unescaped: $(grep -m1 useragent "$T/json.log")"; fi
if python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert any("evil\r\nlevel=error" in r["msg"] for r in recs)' "$T/json.log"; then
  ok "json: the hostile user name round-trips inside one record"
else bad "json: hostile user name not found in one record"; fi

run logstash logstash
check_json logstash message
python3 -c 'import json,sys; [json.loads(l)["@timestamp"] for l in open(sys.argv[1])]' "$T/logstash.log" &&
  ok "logstash: @timestamp on every line" || bad "logstash: @timestamp missing"

run text text
total=$(grep -c '' "$T/text.log")
records=$(grep -c '^time="[^"]*" level=[a-z]* msg="' "$T/text.log")
if [ "$total" = "$records" ] && [ "$total" -ge 8 ]; then ok "text: every line is a record ($total)"
else bad "text: $total lines but $records records: $(cat -A "$T/text.log" | head -c 3000)"; fi
if grep -q '^level=\|^msg=' "$T/text.log"; then bad "text: a forged record starts a line"
else ok "text: no forged record"; fi
if grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$T/text.log"; then bad "text: raw control characters in the log"
else ok "text: control characters are escaped"; fi
if [ "$(grep -c ' env="a \\"b\\"" service=registry$' "$T/text.log")" = "$total" ]; then
  ok "text: log.fields end every line"
else bad "text: log.fields missing on some line"; fi
grep -q 'failed logins for user \\"evil\\r\\nlevel=error msg=\\"forged user\\"\\x1b\[31m\\"' "$T/text.log" &&
  ok "text: the hostile user name is escaped in place" || bad "text: escaped user name not found"

run noaccess text "  accesslog:" "    disabled: true"
if grep -q 'http.request.method' "$T/noaccess.log"; then bad "log.accesslog.disabled: access lines written"
else ok "log.accesslog.disabled: no access lines"; fi
grep -q 'http.request.method' "$T/text.log" && ok "access lines are written by default" ||
  bad "no access lines by default"

run quiet text "  level: error"
# The start-up line is written whatever the level (scripts read the port from it); nothing else is.
if grep -v 'msg="berth [^ ]*: listening on' "$T/quiet.log" | grep -q 'level=info\|level=warning'; then
  bad "log.level error: info or warning lines written: $(cat "$T/quiet.log")"
else ok "log.level error: only errors (and the start-up line)"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
