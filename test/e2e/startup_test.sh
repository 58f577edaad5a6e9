#!/usr/bin/env bash
# Start-up fails safe (issue 10 §2): every configuration a server cannot serve safely ends in one
# message naming the key or the file and a non-zero exit, never a crash (exit 139 was the old
# answer) and never serving without the authentication that was asked for; `berth config check`
# reports the same. A good start logs one line saying what is in force. Also: start-up without a
# config file. Usage: startup_test.sh BERTH_BIN
set -uo pipefail
BERTH=$(realpath "${1:?berth binary}")
T=$(mktemp -d)
PID=""
passed=0; failed=0
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ok() { passed=$((passed+1)); echo "ok: $1"; }
bad() { failed=$((failed+1)); echo "FAIL: $1"; }

echo "pw-alice" | "$BERTH" htpasswd add alice -f "$T/htpasswd" --cost 4 >/dev/null
printf 'bob:$apr1$abc$0123456789abcdefghijkl\n' > "$T/md5.htpasswd"
echo '{"roles": {"admin": [' > "$T/broken-policy.json"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/signing.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$T/tls.key" \
  -out "$T/tls.crt" 2>/dev/null
touch "$T/a-file"

# config NAME [YAML lines...]: $T/NAME.yml on 127.0.0.1:0 with its own data directory.
config() {
  local name=$1; shift
  { echo "version: 0.1"
    echo "storage:"; echo "  filesystem:"; echo "    rootdirectory: $T/data-$name"
    echo "http:"; echo "  addr: 127.0.0.1:0"
    for line in "$@"; do echo "$line"; done
  } > "$T/$name.yml"
}

# refuses NAME DESC PATTERN... [-- ENV...]: serve and config check both exit non-zero (and not by a
# signal) with every PATTERN in their output.
refuses() {
  local name=$1 desc=$2; shift 2
  local patterns=() envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do patterns+=("$1"); shift; done
  [ "${1:-}" = -- ] && { shift; envs=("$@"); }
  local mode out rc p
  for mode in serve check; do
    if [ $mode = serve ]; then
      out=$(env "${envs[@]}" timeout -k 5 20 "$BERTH" serve "$T/$name.yml" 2>&1); rc=$?
    else
      out=$(env "${envs[@]}" timeout -k 5 20 "$BERTH" config check "$T/$name.yml" 2>&1); rc=$?
    fi
    if [ $rc = 0 ] || [ $rc -ge 124 ]; then
      bad "$desc: $mode exited $rc (want a clean non-zero exit): $(tail -n 3 <<<"$out")"; continue
    fi
    local missing=""
    for p in "${patterns[@]}"; do grep -qF -- "$p" <<<"$out" || missing="$missing '$p'"; done
    if [ -n "$missing" ]; then bad "$desc: $mode output lacks$missing: $out"; continue; fi
    if [ $mode = serve ] && [ "$(grep -c . <<<"$out")" != 1 ]; then
      bad "$desc: serve printed more than one line: $out"; continue
    fi
    ok "$desc ($mode, exit $rc)"
  done
}

config htpasswd-missing "auth:" "  htpasswd:" "    realm: r" "    path: $T/no-such-htpasswd"
refuses htpasswd-missing "missing htpasswd file" auth.htpasswd.path "$T/no-such-htpasswd"

config htpasswd-md5 "auth:" "  htpasswd:" "    realm: r" "    path: $T/md5.htpasswd"
refuses htpasswd-md5 "htpasswd line that is not bcrypt" auth.htpasswd.path "$T/md5.htpasswd" \
  "line 1 (bob)"

TOKEN=("auth:" "  token:" "    realm: /auth/token" "    service: berth" "    issuer: test")
config key-missing "${TOKEN[@]}" "    builtin:" "      signingkey: $T/no-such-key.pem"
refuses key-missing "missing token signing key" auth.token.builtin.signingkey "$T/no-such-key.pem"

config policy-broken "${TOKEN[@]}" "    builtin:" "      signingkey: $T/signing.pem" \
  "      policy: $T/broken-policy.json"
refuses policy-broken "malformed policy file" auth.token.builtin.policy "$T/broken-policy.json"

config root-is-file
sed -i "s#rootdirectory: .*#rootdirectory: $T/a-file#" "$T/root-is-file.yml"
refuses root-is-file "rootdirectory that is a file" storage.filesystem.rootdirectory "$T/a-file"

config tls-key-missing "  tls:" "    certificate: $T/tls.crt" "    key: $T/no-such-tls.key"
refuses tls-key-missing "missing TLS key" http.tls.key "$T/no-such-tls.key"

config plain
refuses plain "REGISTRY_AUTH=htpasswd without a path" auth.htpasswd.path -- REGISTRY_AUTH=htpasswd

config typo "auth:" "  htpassword:" "    realm: r" "    path: $T/htpasswd"
refuses typo "auth kind misspelt (htpassword)" '"htpassword"'

config token-no-issuer "auth:" "  token:" "    realm: /auth/token" "    service: berth" \
  "    rootcertbundle: $T/tls.crt"
refuses token-no-issuer "token section without its issuer" auth.token.issuer

config silly "auth:" "  silly:" "    realm: r" "    service: s"
refuses silly "Distribution's test-only silly auth" auth.silly

# start NAME LOGFILE [ENV...] (in $T/cwd-NAME): serve, wait for the start-up line; sets PID, LINE.
start() {
  local name=$1 log=$2; shift 2
  mkdir -p "$T/cwd-$name"
  local cfg=()
  [ -f "$T/$name.yml" ] && cfg=("$T/$name.yml")
  (cd "$T/cwd-$name" && exec env "$@" "$BERTH" serve "${cfg[@]}") 2>"$log" &
  PID=$!
  LINE=""
  for _ in $(seq 1 200); do
    LINE=$(grep -m1 'listening on' "$log")
    [ -n "$LINE" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}
stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID"; local rc=$?; PID=""; return $rc; }

config good "  tls:" "    certificate: $T/tls.crt" "    key: $T/tls.key" \
  "auth:" "  htpasswd:" "    realm: r" "    path: $T/htpasswd"
if start good "$T/good.log" REGISTRY_STORAGE_DELETE_ENABLED=true; then
  want="tls on, auth htpasswd, delete on, storage filesystem at $T/data-good, read-only off"
  if grep -qF "$want" <<<"$LINE"; then ok "start-up line says what is in force"
  else bad "start-up line: want '$want' in: $LINE"; fi
  code=$(curl -sS -m 10 --cacert "$T/tls.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$(
    sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$LINE")/v2/")
  if [ "$code" = 401 ]; then ok "authentication is in force (GET /v2/ without credentials: 401)"
  else bad "GET /v2/ without credentials answered $code, want 401"; fi
  stop && ok "stops cleanly" || bad "exit status after SIGTERM"
else
  bad "good config did not start: $(cat "$T/good.log")"
fi
out=$("$BERTH" config check "$T/good.yml" 2>&1) && ok "config check accepts the good config" ||
  bad "config check of the good config: $out"

# No config file at all: embedded defaults, the address and data directory from the environment.
rm -f "$T/nofile.yml"
if start nofile "$T/nofile.log" REGISTRY_HTTP_ADDR=127.0.0.1:0 BERTH_DATA_DIR="$T/data-nofile"; then
  want="tls off, auth none, delete off, storage filesystem at $T/data-nofile, read-only off"
  if grep -qF "$want" <<<"$LINE"; then ok "start-up without a config file"
  else bad "start-up without a config file: want '$want' in: $LINE"; fi
  stop || true
else
  bad "start-up without a config file failed: $(cat "$T/nofile.log")"
fi
if start nofile "$T/nofile2.log" REGISTRY_HTTP_ADDR=127.0.0.1:0 REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED=true; then
  if grep -qF "storage filesystem at $T/cwd-nofile/berth-data, read-only on" <<<"$LINE"; then
    ok "without a config file the data directory is ./berth-data"
  else bad "default data directory / read-only: $LINE"; fi
  stop || true
else
  bad "start-up without a config file (default directory) failed: $(cat "$T/nofile2.log")"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
