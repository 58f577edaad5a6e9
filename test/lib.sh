# shellcheck shell=bash
# test/lib.sh - shared helpers for the shell test suites (interop, compat).
#
# Source it at the top of a test script, then call lib_init:
#
#   . "$(dirname "$0")/../lib.sh"; lib_init
#
# What it gives a script:
#   $T                      a private temp dir, removed on exit (with everything started in it)
#   start_server KIND NAME CONFIG
#                           start "berth" ($BERTH_BIN) or "distribution" (/usr/bin/docker-registry)
#                           in the background, in its own process group, log in $T/NAME.log; wait
#                           (deadline $SERVER_START_TIMEOUT s) for "listening on 127.0.0.1:PORT"
#                           and set PORT, REG=127.0.0.1:PORT, SERVER_LOG. KIND "sut" means the
#                           server under test. With BERTH_TEST_SERVER=distribution both "sut" and
#                           "berth" run Debian's docker-registry: a dry run of the suites themselves.
#                           A server that dies mid-test is reported (exit status, log tail) and
#                           ends the test.
#   stop_server NAME        SIGTERM, then SIGKILL after $STOP_TIMEOUT s
#   spawn NAME CMD...       start any long-running helper (dockerd, containerd) the same way; it is
#                           killed (whole process group) on exit. stop_proc NAME stops it earlier.
#   write_config FILE ROOTDIR [YAML...]
#                           a Distribution-format config.yml on 127.0.0.1:0; extra lines appended
#   write_tenancy_config FILE [YAML...]
#                           the same with the built-in token service and a metadata store
#   run_to [SECS] CMD...    run a client command with a timeout (default $CLIENT_TIMEOUT s)
#   check DESC CMD...       run CMD (under run_to); count a pass or a failure, show output on failure
#   check_eq DESC GOT WANT  compare two strings
#   refused DESC RE CMD...  CMD must fail with output matching RE (the expected 4xx), not a 5xx/crash
#   fail MSG / pass MSG     record a failure / pass by hand
#   skip_test MSG           exit 77 (CTest SKIP_RETURN_CODE) e.g. when a client is not installed
#   build_fixtures DIR      make-images.sh DIR (busybox, layers3, multiarch; tag 1; DIR/IMAGES.tsv)
#   fixture_digest NAME     the manifest digest of fixture NAME from IMAGES.tsv
#   start_dockerd           a private dockerd (CLIENTS.md settings) as DOCKER_HOST; sets D
#   finish                  print "N passed, M failed" and exit 1 if anything failed
#
# Every process the script starts through these helpers is killed on exit (EXIT/INT/TERM trap),
# and $T is removed (set KEEP_TMP=1 to keep it for debugging). A watchdog ends the script after
# $BERTH_TEST_DEADLINE s (default 570; set it below the CTest TIMEOUT) so cleanup always runs.
# The server binary comes from $BERTH_BIN (CTest passes $<TARGET_FILE:berth>).

set -uo pipefail

LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CLIENT_TIMEOUT:=300}"
: "${SERVER_START_TIMEOUT:=20}"
: "${STOP_TIMEOUT:=10}"
: "${BERTH_TEST_DEADLINE:=570}"  # seconds; keep below the CTest TIMEOUT
: "${BERTH_TEST_SERVER:=berth}"
: "${DISTRIBUTION_BIN:=/usr/bin/docker-registry}"
: "${MAKE_IMAGES:=}"
if [ -z "$MAKE_IMAGES" ]; then
  # A copy of the project's shared fixture builder lives beside the interop tests so a fresh
  # checkout is self-contained.
  for f in "$LIB_ROOT/test/interop/make-images.sh" /work/shared/testimages/make-images.sh; do
    [ -f "$f" ] && { MAKE_IMAGES=$f; break; }
  done
fi

PASSED=0
FAILED=0
declare -A LIB_PIDS=()      # NAME -> pid (= process group id, started with setsid)
declare -a LIB_CLEANUPS=()  # extra commands run on exit, last first

log() { echo "[$(date +%H:%M:%S)] $*"; }

lib_init() {
  T=$(mktemp -d "${TMPDIR:-/tmp}/berth-$(basename "${0%.sh}").XXXXXX")
  chmod 755 "$T"
  export T
  trap lib_cleanup EXIT
  trap 'FAILED=$((FAILED + 1)); echo "FAIL: interrupted"; echo "$PASSED passed, $FAILED failed"; exit 130' INT TERM
  LIB_T0=$(date +%s)
  # Watchdog: end the script (and its direct children, so a blocked client returns) before the
  # CTest TIMEOUT, which would SIGKILL it and skip the cleanup above.
  local me=$$
  (
    # The sleep must not outlive the watchdog: it would hold the test's stdout open and CTest
    # waits for that pipe to close.
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$BERTH_TEST_DEADLINE" >/dev/null 2>&1 &
    sp=$!
    wait "$sp" || exit 0
    echo "FAIL: test deadline of ${BERTH_TEST_DEADLINE} s reached: stopping"
    for p in $(ps -o pid= --ppid "$me"); do [ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null; done
    kill -TERM "$me"
  ) &
  LIB_WATCHDOG=$!
}

# on_exit CMD: run CMD (a string, eval'd) during cleanup, before processes are killed.
on_exit() { LIB_CLEANUPS+=("$1"); }

lib_cleanup() {
  local rc=$? i name
  trap - EXIT INT TERM
  [ -n "${LIB_WATCHDOG:-}" ] && kill "$LIB_WATCHDOG" 2>/dev/null
  for ((i = ${#LIB_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${LIB_CLEANUPS[$i]}" >/dev/null 2>&1 || true
  done
  for name in "${!LIB_PIDS[@]}"; do stop_proc "$name" >/dev/null 2>&1; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "kept $T"
  elif [ -n "${T:-}" ] && [ -d "$T" ]; then
    # Container storage can leave read-only dirs and busy mounts behind; unmount first.
    grep -o " $T/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null; done
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T" 2>/dev/null || rm -rf "$T" 2>/dev/null
  fi
  exit "$rc"
}

pass() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
fail() {
  FAILED=$((FAILED + 1)); echo "FAIL: $*"
  server_died && finish
  return 0
}

# server_died: true (after reporting it, once) when a server started by start_server has exited on
# its own; the test then stops instead of piling up connection-refused failures.
declare -A LIB_SERVERS=()  # NAME -> kind, while running
server_died() {
  local name pid rc
  for name in "${!LIB_SERVERS[@]}"; do
    pid=${LIB_PIDS[$name]:-}
    [ -n "$pid" ] || continue
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null; rc=$?
      FAILED=$((FAILED + 1))
      echo "FAIL: ${LIB_SERVERS[$name]} ($name) died with exit status $rc$( [ "$rc" -gt 128 ] &&
        echo " (signal $((rc - 128)))"); last lines of $T/$name.log:"
      tail -n 15 "$T/$name.log" | sed 's/^/    | /'
      unset "LIB_SERVERS[$name]" "LIB_PIDS[$name]"
      return 0
    fi
  done
  return 1
}

skip_test() { echo "SKIP: $*"; echo "0 passed, 0 failed (skipped)"; exit 77; }

need() { # need CMD...: skip the test when a client is missing
  local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip_test "$c is not installed"; done
}

need_root() { [ "$(id -u)" = 0 ] || skip_test "needs root"; }

# run_to [SECS] CMD...: a client command, bounded (SIGTERM at SECS, SIGKILL 10 s later).
run_to() {
  local secs=$CLIENT_TIMEOUT
  case "${1:-}" in '' | *[!0-9]*) ;; *) secs=$1; shift ;; esac
  timeout -k 10 "$secs" "$@"
}

# check DESC CMD...: pass when CMD exits 0; its output is shown only when it fails. CMD runs under
# run_to unless it is a shell function (which must bound its own client calls).
CHECK_OUT=""
check() {
  local desc=$1; shift
  local out="$T/check.out" rc
  if [ "$(type -t "$1")" = function ]; then "$@" >"$out" 2>&1; else run_to "$@" >"$out" 2>&1; fi
  rc=$?
  # shellcheck disable=SC2034  # read by the test scripts
  CHECK_OUT=$(cat "$out")
  if [ "$rc" = 0 ]; then pass "$desc"; return 0; fi
  [ "$rc" = 124 ] && desc="$desc (timed out)"
  FAILED=$((FAILED + 1)); echo "FAIL: $desc (exit $rc: $*)"
  sed 's/^/    | /' "$out" | tail -n 30
  server_died && finish
  return 1
}

# refused DESC WANT_RE CMD...: CMD must fail, and its output must show the refusal the registry should
# give (WANT_RE, an extended regex such as 'unauthorized|401'). A crash, a 5xx or a dropped connection
# is not a refusal: it fails the check.
refused() {
  local desc=$1 want=$2 out rc; shift 2
  if [ "$(type -t "$1")" = function ]; then out=$("$@" 2>&1); else out=$(run_to "$@" 2>&1); fi
  rc=$?
  if [ $rc = 0 ]; then
    fail "$desc: succeeded, want a refusal"
  elif grep -qiE '(status|code)[^0-9]{0,24}5[0-9][0-9]|internal server error|connection refused|connection reset|unexpected EOF' <<<"$out"; then
    fail "$desc: failed, but not with a refusal: $(tail -n 3 <<<"$out")"
  elif ! grep -qiE "$want" <<<"$out"; then
    fail "$desc: failed without '$want': $(tail -n 3 <<<"$out")"
  else
    pass "$desc"
    return 0
  fi
  return 1
}
check_eq() { # check_eq DESC GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; return 0; fi
  fail "$1: got '$2', want '$3'"; return 1
}

check_contains() { # check_contains DESC HAYSTACK NEEDLE
  case "$2" in *"$3"*) pass "$1"; return 0 ;; esac
  fail "$1: '$3' not in: $(printf '%s' "$2" | head -c 600)"; return 1
}

finish() {
  server_died
  local secs=$(($(date +%s) - ${LIB_T0:-$(date +%s)}))
  echo "(${secs} s)"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ] && exit 0
  exit 1
}

# ---------------------------------------------------------------- processes

# spawn NAME CMD...: run CMD in its own session/process group (stdout+stderr to $T/NAME.log).
spawn() {
  local name=$1; shift
  setsid "$@" >>"$T/$name.log" 2>&1 </dev/null &
  LIB_PIDS[$name]=$!
}

# stop_proc NAME [SECS]: SIGTERM the process group, SIGKILL after SECS (default $STOP_TIMEOUT).
stop_proc() {
  local name=$1 secs=${2:-$STOP_TIMEOUT} pid deadline
  pid=${LIB_PIDS[$name]:-}
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  deadline=$(($(date +%s) + secs))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name (pid $pid) ignored SIGTERM for ${secs} s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  fi
  # The group may outlive its leader (children that ignore SIGTERM).
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "LIB_PIDS[$name]"
}

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds or SECS pass.
wait_for() {
  local secs=$1 deadline; shift
  deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- registries

# write_config FILE ROOTDIR [YAML-LINE...]: Distribution config.yml, 127.0.0.1:0, delete enabled,
# access log on. Extra lines are appended verbatim (top-level keys, e.g. "http:" blocks must not
# repeat: use HTTP_EXTRA for lines under http:).
write_config() {
  local file=$1 root=$2; shift 2
  mkdir -p "$(dirname "$file")"
  {
    printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$root"
    printf 'http:\n  addr: 127.0.0.1:0\n'
    [ -n "${HTTP_EXTRA:-}" ] && printf '%s\n' "$HTTP_EXTRA"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } >"$file"
}

# write_tenancy_config FILE [YAML...]: write_config with the built-in token service (a fresh P-256
# signing key) taking users from a SQLite metadata store at $T/meta.db; YAML lines are appended
# below `berth.meta` (so `  ratelimit:` lands under `berth:`).
write_tenancy_config() {
  local file=$1; shift
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/signing.pem" 2>/dev/null
  write_config "$file" "$T/data" \
    "auth:" "  token:" "    realm: /auth/token" "    service: berth" "    issuer: berth" \
    "    builtin:" "      signingkey: $T/signing.pem" \
    "berth:" "  meta:" "    driver: sqlite" "    path: $T/meta.db" "$@"
}

server_cmd() { # server_cmd KIND -> the argv prefix before CONFIG
  case "$1" in
    berth)
      [ -n "${BERTH_BIN:-}" ] || { echo "BERTH_BIN is not set" >&2; return 1; }
      [ -x "$BERTH_BIN" ] || { echo "BERTH_BIN=$BERTH_BIN is not executable" >&2; return 1; }
      echo "$BERTH_BIN serve" ;;
    distribution)
      [ -x "$DISTRIBUTION_BIN" ] || { echo "$DISTRIBUTION_BIN missing" >&2; return 1; }
      echo "$DISTRIBUTION_BIN serve" ;;
    *) echo "unknown server kind $1" >&2; return 1 ;;
  esac
}

# start_server KIND NAME CONFIG: sets PORT, REG (127.0.0.1:PORT), SERVER_LOG. Exits the test on failure.
start_server() {
  local kind=$1 name=$2 cfg=$3 cmd deadline
  # "sut" is the server under test. A dry run (BERTH_TEST_SERVER=distribution) runs every "berth"
  # as Distribution too, so the suites themselves can be checked without a Berth build.
  case "$kind" in sut | berth) kind=$BERTH_TEST_SERVER ;; esac
  cmd=$(server_cmd "$kind") || { fail "cannot start $kind"; finish; }
  SERVER_LOG=$T/$name.log
  : >"$SERVER_LOG"
  # REGISTRY_* variables override config keys in both servers (REGISTRY_AUTH_FILE, set for
  # podman, would become auth: "..."): the server sees only its config file.
  local unset=() v
  for v in $(compgen -e | grep '^REGISTRY_'); do unset+=(-u "$v"); done
  # shellcheck disable=SC2086
  spawn "$name" env "${unset[@]}" $cmd "$cfg"
  PORT=""
  deadline=$(($(date +%s) + SERVER_START_TIMEOUT))
  while [ -z "$PORT" ]; do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$SERVER_LOG" | head -n1)
    [ -n "$PORT" ] && break
    if ! kill -0 "${LIB_PIDS[$name]}" 2>/dev/null; then
      fail "$kind ($name) exited before listening"; sed 's/^/    | /' "$SERVER_LOG" | tail -n 20; finish
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "$kind ($name) did not log 'listening on' within ${SERVER_START_TIMEOUT} s"
      sed 's/^/    | /' "$SERVER_LOG" | tail -n 20; finish
    fi
    sleep 0.05
  done
  REG=127.0.0.1:$PORT
  LIB_SERVERS[$name]=$kind
  export PORT REG SERVER_LOG
  log "$kind ($name) listening on $REG (log $SERVER_LOG)"
}

stop_server() { unset "LIB_SERVERS[$1]"; stop_proc "$1"; }

# http_get PATH -> body on stdout (curl against $REG, bounded)
http_get() { curl -sS -m 30 "http://$REG$1"; }
http_code() { curl -sS -m 30 -o /dev/null -w '%{http_code}' "http://$REG$1"; }

# ---------------------------------------------------------------- fixtures

# shellcheck disable=SC2034  # used by the test scripts
FIXTURE_NAMES=(busybox layers3 multiarch)

# build_fixtures DIR: deterministic OCI layouts DIR/{busybox,layers3,multiarch}:1 (no network when
# the foreign-arch busybox is cached in /var/tmp/make-images-cache; --no-foreign otherwise).
build_fixtures() {
  local dir=$1 t0; t0=$(date +%s)
  [ -n "$MAKE_IMAGES" ] && [ -f "$MAKE_IMAGES" ] || { fail "make-images.sh not found (set MAKE_IMAGES)"; finish; }
  local args=()
  [ -n "${FIXTURE_MID_MIB:-}" ] && args+=(--mid-size "$FIXTURE_MID_MIB")  # default 50 MiB
  [ -x /var/tmp/make-images-cache/busybox-arm64/bin/busybox ] || [ -x /var/tmp/make-images-cache/busybox-amd64/bin/busybox ] ||
    [ "${FIXTURE_FOREIGN:-0}" = 1 ] || args+=(--no-foreign)
  if ! run_to 300 bash "$MAKE_IMAGES" "${args[@]}" "$dir" >"$T/make-images.log" 2>&1; then
    fail "make-images.sh failed"; tail -n 20 "$T/make-images.log"; finish
  fi
  log "fixtures built in $(($(date +%s) - t0)) s -> $dir"
  FIXTURES=$dir
}

fixture_digest() { awk -F'\t' -v n="$1" '$1 == n {print $5}' "$FIXTURES/IMAGES.tsv"; }
fixture_mediatype() { awk -F'\t' -v n="$1" '$1 == n {print $4}' "$FIXTURES/IMAGES.tsv"; }

sha256_of() { echo "sha256:$(sha256sum | cut -d' ' -f1)"; }

# ---------------------------------------------------------------- skopeo

SKOPEO=(skopeo --insecure-policy)
# digest_or_error WHAT CMD...: "sha256:<hex>" of CMD's output, or, when CMD fails or prints nothing,
# a message on stderr and a marker that names WHAT and is unique to this call, so it never equals a
# digest nor the result of another failed call (two failures must not compare equal).
digest_or_error() {
  local what=$1 rc f; shift
  f=$(mktemp "$T/digest.XXXXXX")
  # To a file, not through $(...), which would drop trailing newlines of the manifest.
  run_to "$@" >"$f" 2>"$f.err"; rc=$?
  if [ $rc != 0 ] || [ ! -s "$f" ]; then
    echo "FAIL: $what failed (rc=$rc): $(tail -n 3 "$f.err")" >&2
    echo "error:$what:rc=$rc:$(date +%s%N):$RANDOM"
    return 1
  fi
  sha256_of <"$f"
}
# remote_digest REF: sha256 of the raw manifest the registry serves for docker://REF
# pull_all DIR: copy every tag back (--all) into OCI layouts; skopeo verifies every blob digest.
pull_all() {
  local dir=$1 repo tag ok=0 bad=0
  for repo in $(http_get "/v2/_catalog?n=1000" | jq -r '.repositories[]'); do
    for tag in $(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/$repo" | jq -r '.Tags[]'); do
      mkdir -p "$dir/$repo"
      if run_to "${SKOPEO[@]}" copy -q --all --src-tls-verify=false "docker://$REG/$repo:$tag" \
           "oci:$dir/$repo:$tag" >"$T/pull.out" 2>&1; then ok=$((ok + 1))
      else bad=$((bad + 1)); echo "pull $repo:$tag failed:"; sed 's/^/    | /' "$T/pull.out"; fi
    done
  done
  echo "$ok pulled, $bad failed"
  [ "$bad" = 0 ] && [ "$ok" -gt 0 ]
}

remote_digest() {
  digest_or_error "remote_digest $1" "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$1"
}
# layout_digest DIR TAG: digest of the top manifest of an OCI layout (what index.json points at)
layout_digest() {
  digest_or_error "layout_digest $1:$2" "${SKOPEO[@]}" inspect --raw "oci:$1:$2"
}
# push_fixture NAME REPO[:TAG] [skopeo copy flags...]
push_fixture() {
  local name=$1 dest=$2; shift 2
  local all=()
  [ "$(fixture_mediatype "$name")" = application/vnd.oci.image.index.v1+json ] && all=(--all)
  run_to "${SKOPEO[@]}" copy -q "${all[@]}" "$@" --dest-tls-verify=false \
    "oci:$FIXTURES/$name:1" "docker://$REG/$dest"
}

# put_blob REPO FILE: a monolithic upload of FILE to $REG (POST, then PUT with its digest).
put_blob() {
  local loc
  loc=$(curl -sS -m 30 -D - -o /dev/null -X POST "http://$REG/v2/$1/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case "$loc" in http*) ;; *) loc="http://$REG$loc" ;; esac
  local sep='?'; case "$loc" in *\?*) sep='&' ;; esac
  curl -sS -m 30 -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$2" "$loc${sep}digest=$(sha256_of <"$2")"
}
# push_artifact REPO CONTENT [SUBJECT_DIGEST SUBJECT_SIZE [/REFERENCE]] -> prints the manifest
# digest: an OCI artifact (one layer holding CONTENT, the empty config) pushed to $REG by digest or
# by /REFERENCE, with a subject when SUBJECT_DIGEST is given (a signature-like referrer).
push_artifact() {
  local repo=$1 content=$2 subject=${3:-} f="$T/art.$RANDOM" cfg="$T/cfg.$RANDOM" m
  printf '%s' "$content" >"$f"; printf '{}' >"$cfg"
  put_blob "$repo" "$f" && put_blob "$repo" "$cfg" || return 1
  m=$(jq -cn --arg l "$(sha256_of <"$f")" --argjson ls "$(stat -c %s "$f")" \
    --arg c "$(sha256_of <"$cfg")" --arg s "$subject" --argjson ss "${4:-0}" '
    {schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json",
     artifactType:"application/vnd.example.signature",
     config:{mediaType:"application/vnd.oci.empty.v1+json",digest:$c,size:2},
     layers:[{mediaType:"application/octet-stream",digest:$l,size:$ls}]}
    + (if $s == "" then {} else {subject:{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$s,size:$ss}} end)')
  local d; d=$(printf '%s' "$m" | sha256_of)
  curl -sS -m 30 -f -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$m" "http://$REG/v2/$repo/manifests${5:-/$d}" || return 1
  echo "$d"
}

# seed_test_images: builds the fixtures and starts Berth ("sut", root $T/a, A=$REG) holding
# test/busybox:1 (OCI), test/layers3:1 (Docker schema 2) and test/multiarch:1 (an index).
seed_test_images() {
  FIXTURE_MID_MIB=${FIXTURE_MID_MIB:-4} build_fixtures "$T/img"
  write_config "$T/a.yml" "$T/a"
  start_server sut a "$T/a.yml"
  A=$REG
  check "seed: busybox (OCI)" push_fixture busybox test/busybox:1
  check "seed: layers3 (Docker schema 2)" push_fixture layers3 test/layers3:1 --format v2s2
  check "seed: multiarch (index)" push_fixture multiarch test/multiarch:1
}

# ---------------------------------------------------------------- docker

# start_dockerd: a private dockerd exactly as CLIENTS.md says (own data root under $T/dockerd, vfs,
# never a bridge network, no iptables), exported as DOCKER_HOST with DOCKER_CONFIG=$T/dockercfg;
# every container is removed on exit. Sets D (its directory). Ends the test when it does not answer.
# Extra arguments go to dockerd (e.g. --registry-mirror URL).
start_dockerd() {
  D=$T/dockerd
  mkdir -p "$D" "$T/dockercfg"
  spawn dockerd dockerd --data-root "$D/root" --exec-root "$D/exec" --pidfile "$D/pid" \
    -H "unix://$D/sock" --storage-driver vfs --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false --bridge=none --userland-proxy=false \
    --default-ulimit nofile=20000:20000 --default-ulimit nproc=20000:20000 "$@"
  export DOCKER_HOST=unix://$D/sock DOCKER_CONFIG=$T/dockercfg DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false
  on_exit 'ids=$(timeout 30 docker ps -aq); [ -n "$ids" ] && timeout 60 docker rm -f $ids'
  if wait_for 60 run_to 10 docker version; then
    pass "dockerd started ($(run_to 10 docker version --format '{{.Server.Version}}'))"
  else
    fail "dockerd did not answer within 60 s"; sed 's/^/    | /' "$T/dockerd.log" | tail -n 20; finish
  fi
}
