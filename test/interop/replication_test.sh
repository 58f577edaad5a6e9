#!/usr/bin/env bash
# Replication rules inside `berth serve` (berth.replication): a source Berth replicates on push to
# Debian's docker-registry 2.8.2 (through a forwarder, so the destination can be killed and come
# back on a new port behind the same address) and to another Berth with htpasswd authentication
# (prefix, delete propagation), and on a schedule. Checks: digests unchanged at each destination;
# a destination killed (SIGKILL) while a large blob is uploading catches up when it returns; items
# queued while the destination is down survive a SIGKILL of the source; deletes propagate where
# enabled and only there; a pull rule copies from docker-registry into the source under a prefix;
# `berth replication status` reports the runs.
# Usage: BERTH_BIN=build/berth replication_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo jq curl python3 "$DISTRIBUTION_BIN"
B=$BERTH_BIN

# The layers3 fixture has a 12 MiB layer: at the rule's 3 MB/s it takes ~4 s to upload.
FIXTURE_MID_MIB=${FIXTURE_MID_MIB:-12} build_fixtures "$T/img"

# ---------------------------------------------------------------- destinations
write_config "$T/d.yml" "$T/d"
start_server distribution d "$T/d.yml"
echo "$PORT" >"$T/target"
spawn fwd python3 "$(dirname "$0")/forward.py" "$T/fwd.port" "$T/target"
wait_for 10 test -s "$T/fwd.port" || { fail "forwarder did not start"; finish; }
F=127.0.0.1:$(cat "$T/fwd.port")

printf 's3cret\n' | "$B" htpasswd add alice -f "$T/htpasswd" --cost 4 >/dev/null
write_config "$T/b.yml" "$T/b" "auth:" "  htpasswd:" "    realm: test" "    path: $T/htpasswd"
start_server berth b "$T/b.yml"
BB2=$REG

# ---------------------------------------------------------------- the source
write_config "$T/a.yml" "$T/a" \
  "berth:" \
  "  replication:" \
  "    maxbackoff: 1s" \
  "    rules:" \
  "      - name: to-dist" \
  "        url: http://$F" \
  "        repository: 'test/*'" \
  "        bandwidth: 3MB" \
  "      - name: to-berth" \
  "        url: http://$BB2" \
  "        username: alice" \
  "        password: s3cret" \
  "        prefix: mirror/" \
  "        repository: 'test/*'" \
  "        tags: '^[0-9]+\$'" \
  "        deletes: true" \
  "      - name: nightly" \
  "        url: http://$F" \
  "        repository: 'sched/*'" \
  "        trigger: schedule" \
  "        interval: 1s" \
  "      - name: from-dist" \
  "        url: http://$F" \
  "        direction: pull" \
  "        repository: 'test/*'" \
  "        tags: '^1\$'" \
  "        prefix: pulled/" \
  "        interval: 1s"
check "config check accepts the rules" "$B" config check "$T/a.yml"
start_server sut a "$T/a.yml"
A=$REG

# digest_at HOSTPORT REF [CREDS]: the manifest digest a registry serves, or an error marker.
digest_at() {
  local creds=()
  [ -n "${3:-}" ] && creds=(--creds "$3")
  remote_digest_creds "$1/$2" "${creds[@]}"
}
remote_digest_creds() {
  local ref=$1; shift
  digest_or_error "digest of $ref" "${SKOPEO[@]}" inspect --raw --tls-verify=false "$@" "docker://$ref" 2>/dev/null
}
# arrives DESC HOSTPORT REF WANT [CREDS]: poll (60 s) until REF has digest WANT.
arrives() {
  local desc=$1 hp=$2 ref=$3 want=$4 creds=${5:-}
  if wait_for 60 eval '[ "$(digest_at "$hp" "$ref" "$creds")" = "$want" ]'; then pass "$desc"
  else fail "$desc: $ref at $hp is $(digest_at "$hp" "$ref" "$creds"), want $want"; fi
}
gone() { # gone DESC URL [CURL-ARGS]: poll (30 s) until URL answers 404
  local desc=$1 url=$2; shift 2
  local -a extra=("$@")  # (inside wait_for's eval, "$@" would be wait_for's own arguments)
  if wait_for 30 eval '[ "$(curl -sS -m 10 -o /dev/null -w "%{http_code}" "${extra[@]}" -H "Accept: application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json" "$url")" = 404 ]'
  then pass "$desc"; else fail "$desc: $url still answers"; fi
}

# ================================================================ on push
REG=$A check "push busybox (OCI)" push_fixture busybox test/busybox:1
REG=$A check "push multiarch (index)" push_fixture multiarch test/multiarch:1
BB=$(fixture_digest busybox); MA=$(fixture_digest multiarch)
arrives "on push: busybox at docker-registry" "$F" test/busybox:1 "$BB"
arrives "on push: multiarch (whole index) at docker-registry" "$F" test/multiarch:1 "$MA"
arrives "on push: busybox at the Berth, under the prefix" "$BB2" mirror/test/busybox:1 "$BB" alice:s3cret
arrives "on push: multiarch at the Berth" "$BB2" mirror/test/multiarch:1 "$MA" alice:s3cret
check "the Berth copy pulls (every blob verified)" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
  --src-creds alice:s3cret "docker://$BB2/mirror/test/multiarch:1" "oci:$T/pull:ma"
REG=$A check "push a tag the to-berth rule does not select" push_fixture busybox test/busybox:latest
arrives "docker-registry gets it (no tag filter)" "$F" test/busybox:latest "$BB"
check_eq "the Berth does not (tag regex)" \
  "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -u alice:s3cret "http://$BB2/v2/mirror/test/busybox/manifests/latest")" 404

# ================================================================ destination killed mid-blob
REG=$A check "push layers3 (12 MiB layer, Docker schema 2)" push_fixture layers3 test/layers3:1 --format v2s2
L3=$(remote_digest "$A/test/layers3:1")
uploading() { [ "$(find "$T/d/docker/registry/v2/repositories/test/layers3/_uploads" -name data -size +1M 2>/dev/null | wc -l)" -gt 0 ]; }
if wait_for 60 uploading; then pass "the large blob is uploading to docker-registry"
else fail "no upload of the large blob seen at docker-registry"; fi
kill -KILL -- "-${LIB_PIDS[d]}"; wait "${LIB_PIDS[d]}" 2>/dev/null; unset "LIB_PIDS[d]" "LIB_SERVERS[d]"
failing() { "$B" replication status -c "$T/a.yml" | awk '$1 == "to-dist" {exit !($8 > 0 && $9 > 0)}'; }
if wait_for 30 failing; then pass "status: to-dist counts failures and has the item pending"
else fail "status after the kill: $("$B" replication status -c "$T/a.yml")"; fi
check_eq "docker-registry has no layers3 yet" "$(uploading; find "$T/d/docker/registry/v2/repositories/test/layers3/_manifests/tags" -name link 2>/dev/null | wc -l)" 0
start_server distribution d2 "$T/d.yml"   # same storage, a new port behind the forwarder
echo "$PORT" >"$T/target"
arrives "caught up: layers3 at docker-registry after it came back" "$F" test/layers3:1 "$L3"
REG=$F check "docker-registry: layers3 pulls" "${SKOPEO[@]}" copy -q --src-tls-verify=false \
  "docker://$F/test/layers3:1" "oci:$T/pull:l3"
arrives "layers3 at the Berth meanwhile" "$BB2" mirror/test/layers3:1 "$L3" alice:s3cret

# ================================================================ pending items survive kill -9
stop_server d2
REG=$A check "push while docker-registry is down" push_fixture busybox test/new:1
pending() { "$B" replication status -c "$T/a.yml" | awk '$1 == "to-dist" {exit !($9 > 0)}'; }
if wait_for 30 pending; then pass "the item is queued on disk"; else fail "nothing pending"; fi
kill -KILL -- "-${LIB_PIDS[a]}"; wait "${LIB_PIDS[a]}" 2>/dev/null; unset "LIB_PIDS[a]" "LIB_SERVERS[a]"
start_server sut a2 "$T/a.yml"
A=$REG
start_server distribution d3 "$T/d.yml"
echo "$PORT" >"$T/target"
arrives "after kill -9 of the source: test/new:1 replicated" "$F" test/new:1 "$BB"

# ================================================================ on schedule
REG=$A check "push sched/app:1 (schedule-only rule)" push_fixture busybox sched/app:1
arrives "on schedule: sched/app:1 at docker-registry" "$F" sched/app:1 "$BB"
arrives "pull rule: docker-registry's test/layers3:1 in the source under pulled/" "$A" pulled/test/layers3:1 "$L3"
arrives "pull rule: test/multiarch:1 (whole index)" "$A" pulled/test/multiarch:1 "$MA"

# ================================================================ deletes
check "delete test/multiarch:1 (by tag) at the source" curl -sS -m 10 -f -X DELETE "http://$A/v2/test/multiarch/manifests/1"
gone "tag delete propagated to the Berth" "http://$BB2/v2/mirror/test/multiarch/manifests/1" -u alice:s3cret
check "delete test/busybox by digest at the source" curl -sS -m 10 -f -X DELETE "http://$A/v2/test/busybox/manifests/$BB"
gone "manifest delete propagated to the Berth" "http://$BB2/v2/mirror/test/busybox/manifests/$BB" -u alice:s3cret
check_eq "not to docker-registry (deletes off)" "$(digest_at "$F" test/busybox:1)" "$BB"

# ================================================================ status
check "replication status" "$B" replication status -c "$T/a.yml"
echo "$CHECK_OUT" | sed 's/^/    /'
check_eq "to-berth: 2 deletes" "$(awk '$1 == "to-berth" {print $7}' <<<"$CHECK_OUT")" 2
check_eq "nightly: last run ok" "$(awk '$1 == "nightly" {print $NF}' <<<"$CHECK_OUT")" ok
finish
