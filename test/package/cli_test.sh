#!/usr/bin/env bash
# The command line as a user meets it: --help with examples on every command, an unknown command
# named with the list of commands, `berth status` against a status endpoint (a small fake until
# the real one answers), `berth healthcheck` against a real Berth, `berth FILE.yml` as registry:2's
# entrypoint, and BERTH_USER (start as root, give the volume to the user, run as the user).
# Usage: BERTH_BIN=build/berth cli_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need python3 curl
BERTH=${BERTH_BIN:?BERTH_BIN}

# ---------------------------------------------------------------- help
out=$("$BERTH" --help 2>&1); rc=$?
check_eq "berth --help exits 0" "$rc" 0
check_contains "berth --help has examples" "$out" "Examples:"
# The commands --help lists (CLI11 prints them under "Subcommands:").
mapfile -t cmds < <(sed -n '/^Subcommands:/,/^$/p' <<<"$out" | awk 'NR > 1 && NF {print $1}')
check "--help lists serve, config, status, healthcheck, version (${cmds[*]})" \
  bash -c 'for c in serve config status healthcheck version htpasswd; do grep -qx "$c" <<<"$1" || exit 1; done' _ "$(printf '%s\n' "${cmds[@]}")"
for c in "${cmds[@]}"; do
  out=$("$BERTH" "$c" --help 2>&1); rc=$?
  check_contains "berth $c --help exits 0 with examples (rc=$rc)" "$rc:$out" "0:"
  check_contains "berth $c --help shows examples" "$out" "Examples:"
  mapfile -t subs < <(sed -n '/^Subcommands:/,/^$/p' <<<"$out" | awk 'NR > 1 && NF {print $1}')
  for s in "${subs[@]}"; do
    check_contains "berth $c $s --help shows examples" "$("$BERTH" "$c" "$s" --help 2>&1)" "Examples:"
  done
done

# ---------------------------------------------------------------- usage errors
out=$("$BERTH" frobnicate 2>&1); rc=$?
check_eq "an unknown command is a usage error (exit 2)" "$rc" 2
check_contains "it is named" "$out" 'unknown command "frobnicate"'
check_contains "the commands are listed" "$out" "status"
check_contains "with what to do next" "$out" "berth COMMAND --help"
out=$("$BERTH" stauts 2>&1)
check_contains "a near miss gets a suggestion" "$out" 'did you mean "status"'
out=$("$BERTH" 2>&1); rc=$?
check_eq "no command at all: exit 2" "$rc" 2
check_contains "no command at all: the commands are listed" "$out" "serve"
out=$("$BERTH" config chek x.yml 2>&1); rc=$?
check_eq "an unknown nested command: exit 2" "$rc" 2
check_contains "it is named under its group" "$out" 'berth config: unknown command "chek"'
out=$("$BERTH" status --timeout nope 2>&1); rc=$?
check_eq "a bad option value: exit 2" "$rc" 2
check_contains "it points at the command's --help" "$out" "berth status --help"

# ---------------------------------------------------------------- status, against a fake endpoint
cat >"$T/fake.py" <<'PY'
import http.server, json, sys
mode = sys.argv[1]
doc = {"version": "9.9.9", "started_at": "2026-12-01T04:00:00Z", "uptime_seconds": 3723.5,
       "healthy": mode != "unhealthy",
       "checks": [{"name": "storage", "ok": True, "message": "writable"}] +
                 ([{"name": "disk", "ok": False, "message": "2% free"}] if mode == "unhealthy" else []),
       "storage": {"driver": "filesystem", "root": "/var/lib/registry",
                   "used_bytes": 1610612736, "free_bytes": 42949672960}}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if mode == "absent" or self.path != "/debug/status":
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        body = json.dumps(doc).encode()
        self.send_response(200 if mode != "unhealthy" else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % s.server_port, flush=True)
s.serve_forever()
PY
fake() { # fake NAME MODE -> FAKE_PORT
  spawn "$1" python3 "$T/fake.py" "$2"
  wait_for 10 grep -q "listening on" "$T/$1.log"
  FAKE_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$1.log")
}
fake ok ok
out=$("$BERTH" status --url "http://127.0.0.1:$FAKE_PORT" 2>&1); rc=$?
check_eq "status of a healthy registry: exit 0" "$rc" 0
check_contains "the summary names version and health" "$out" "Berth 9.9.9 at http://127.0.0.1:$FAKE_PORT/debug/status: healthy"
check_contains "the uptime is readable" "$out" "(up 1h 02m 03s)"
check_contains "the storage use is readable" "$out" "filesystem /var/lib/registry: 1.5 GiB used, 40.0 GiB free"
check_contains "the checks are listed" "$out" "ok   storage: writable"
out=$("$BERTH" status --url "http://127.0.0.1:$FAKE_PORT/" --json 2>&1)
check_eq "--json prints the document" "$(jq -r .version <<<"$out" 2>&1)" 9.9.9
out=$("$BERTH" status --url "127.0.0.1:$FAKE_PORT" --quiet 2>&1); rc=$?
check_eq "--quiet: exit 0 and no output" "$rc:$out" "0:"
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:0\n  debug:\n    addr: :%s\n' \
  "$T/unused" "$FAKE_PORT" >"$T/debug.yml"
out=$("$BERTH" status -c "$T/debug.yml" 2>&1); rc=$?
check_eq "-c CONFIG: the address comes from http.debug.addr (exit $rc: $out)" "$rc" 0
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:0\n' "$T/unused" >"$T/nodebug.yml"
out=$("$BERTH" status -c "$T/nodebug.yml" 2>&1); rc=$?
check_eq "-c CONFIG without a debug address: a usage error" "$rc" 2
check_contains "which says what to add" "$out" "http.debug.addr"

fake sick unhealthy
out=$("$BERTH" status --url "http://127.0.0.1:$FAKE_PORT" 2>&1); rc=$?
check_eq "status of an unhealthy registry: exit 1" "$rc" 1
check_contains "the summary says so" "$out" "UNHEALTHY"
check_contains "the failing check is shown" "$out" "FAIL disk: 2% free"

fake absent absent
out=$("$BERTH" status --url "http://127.0.0.1:$FAKE_PORT" 2>&1); rc=$?
check_eq "no status endpoint: exit 1" "$rc" 1
check_contains "it says the endpoint is absent and what --url must be" "$out" "answered 404: there is no status endpoint"
stop_proc absent
out=$("$BERTH" status --url "http://127.0.0.1:$FAKE_PORT" 2>&1); rc=$?
check_eq "nothing listening: exit 1" "$rc" 1
check_contains "it says it cannot connect" "$out" "cannot reach http://127.0.0.1:$FAKE_PORT/debug/status"
check_contains "and what to check" "$out" "Is Berth running"
out=$("$BERTH" status --url "ftp://127.0.0.1:1" 2>&1); rc=$?
check_eq "an unusable URL is a usage error" "$rc:$(grep -c 'only http:// and https://' <<<"$out")" "2:1"

# ---------------------------------------------------------------- healthcheck + FILE.yml, real Berth
write_config "$T/reg.yml" "$T/data"
# registry:2's entrypoint form: the config file as the only argument.
spawn entry "$BERTH" "$T/reg.yml"
if wait_for 20 grep -q "listening on 127.0.0.1:" "$T/entry.log"; then
  pass "berth FILE.yml serves FILE.yml"
else
  fail "berth FILE.yml did not serve: $(tail -n 5 "$T/entry.log")"
fi
EPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/entry.log" | head -n1)
out=$(REGISTRY_HTTP_ADDR=127.0.0.1:$EPORT "$BERTH" healthcheck -c "$T/reg.yml" 2>&1); rc=$?
check_eq "healthcheck of a serving registry: exit 0 ($out)" "$rc" 0
check_contains "it says what it asked" "$out" "GET http://127.0.0.1:$EPORT/v2/ answered 200"
stop_proc entry
out=$(REGISTRY_HTTP_ADDR=127.0.0.1:$EPORT "$BERTH" healthcheck -c "$T/reg.yml" --timeout 2 2>&1); rc=$?
check_eq "healthcheck with the registry gone: exit 1 ($out)" "$rc" 1

# ---------------------------------------------------------------- BERTH_USER
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  NOBODY=$(id -u nobody)
  mkdir -p "$T/vol/docker" && touch "$T/vol/docker/old-file"   # a root-owned volume
  echo secret | "$BERTH" htpasswd add alice -f "$T/pw" --cost 4 >/dev/null
  chmod 0600 "$T/pw"                                              # root-only, as mounted secrets are
  write_config "$T/drop.yml" "$T/vol" "auth:" "  htpasswd:" "    realm: r" "    path: $T/pw"
  spawn drop env BERTH_USER=nobody "$BERTH" serve "$T/drop.yml"
  if wait_for 20 grep -q "listening on 127.0.0.1:" "$T/drop.log"; then
    DPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/drop.log" | head -n1)
    pid=${LIB_PIDS[drop]}
    check_eq "BERTH_USER: every uid of the process is the user's" \
      "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" "$NOBODY $NOBODY $NOBODY $NOBODY"
    check_eq "BERTH_USER: no capabilities left" "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" 0000000000000000
    check_eq "the root-owned volume was given to the user" "$(stat -c %u "$T/vol/docker/old-file")" "$NOBODY"
    check_contains "and the log says so" "$(cat "$T/drop.log")" "entries under $T/vol to nobody"
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -u alice:secret -X POST \
      "http://127.0.0.1:$DPORT/v2/dropped/blobs/uploads/")
    check_eq "the root-only htpasswd was read, and the user can write the volume (POST upload)" "$code" 202
    check_eq "what it writes belongs to the user" \
      "$(find "$T/vol" ! -user "$NOBODY" | head -n 3)" ""
  else
    fail "BERTH_USER=nobody did not start: $(tail -n 5 "$T/drop.log")"
  fi
  stop_proc drop
  out=$(BERTH_USER=no-such-user-here "$BERTH" serve "$T/drop.yml" 2>&1); rc=$?
  check_eq "BERTH_USER naming no user: refuses to start (exit 1)" "$rc" 1
  check_contains "naming the variable" "$out" "BERTH_USER=no-such-user-here: no such user"
else
  echo "skip: BERTH_USER checks need root and a 'nobody' user"
fi

finish
