#!/usr/bin/env bash
# Compat: one Distribution-format config.yml starts both Berth and CNCF Distribution unchanged, and
# both answer /v2/ (and other responses) with the configured http.headers.
#   config A: version, log (level, accesslog), storage.filesystem.rootdirectory, storage.delete,
#             http.addr, http.headers {X-Content-Type-Options: [nosniff]}
#   config B: Debian's stock /etc/docker/registry/config.yml (log.fields, storage.cache, health),
#             minus its htpasswd auth, with rootdirectory and addr changed.
# Usage: BERTH_BIN=build/berth config_compat_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need curl
[ -x "$DISTRIBUTION_BIN" ] || skip_test "$DISTRIBUTION_BIN is not installed"
KINDS=(berth distribution)
[ "$BERTH_TEST_SERVER" = distribution ] && KINDS=(distribution distribution)

cat >"$T/a.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $T/data-a
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  headers:
    X-Content-Type-Options: [nosniff]
EOF

cat >"$T/b.yml" <<EOF
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $T/data-b
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF

# headers_of PATH [curl args]: status line + headers, CR stripped
headers_of() { local p=$1; shift; curl -sS -m 30 -o /dev/null -D - "$@" "http://$REG$p" | tr -d '\r'; }

i=0
for cfg in a b; do
  for kind in "${KINDS[@]}"; do
    i=$((i + 1))
    cp "$T/$cfg.yml" "$T/copy.yml"
    start_server "$kind" "$kind-$cfg-$i" "$T/$cfg.yml"
    check_eq "config $cfg: $kind left the config file unchanged" "$(cmp -s "$T/$cfg.yml" "$T/copy.yml" && echo same)" same
    h=$(headers_of /v2/)
    check_contains "config $cfg: $kind GET /v2/ answers 200" "$(head -n1 <<<"$h")" " 200"
    check_contains "config $cfg: $kind GET /v2/ has X-Content-Type-Options: nosniff" "$h" "X-Content-Type-Options: nosniff"
    check_contains "config $cfg: $kind GET /v2/ has Docker-Distribution-Api-Version" \
      "$(tr 'A-Z' 'a-z' <<<"$h")" "docker-distribution-api-version: registry/2.0"
    h=$(headers_of /v2/ -I)
    check_contains "config $cfg: $kind HEAD /v2/ has the header" "$h" "X-Content-Type-Options: nosniff"
    h=$(headers_of /v2/no/such/manifests/latest)
    check_contains "config $cfg: $kind 404 manifest answers 404" "$(head -n1 <<<"$h")" " 404"
    check_contains "config $cfg: $kind error responses carry the header too" "$h" "X-Content-Type-Options: nosniff"
    h=$(headers_of /v2/_catalog)
    check_contains "config $cfg: $kind catalog has the header" "$h" "X-Content-Type-Options: nosniff"
    stop_server "$kind-$cfg-$i"
  done
done

finish
