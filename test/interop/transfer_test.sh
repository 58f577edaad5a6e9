#!/usr/bin/env bash
# Export/import, docker-archive and backup/restore with the real test images (OCI, Docker schema 2,
# multi-arch index, a referrer), against running Berth servers on 127.0.0.1:0:
#   - berth export (tar and directory) of a serving registry; skopeo reads the layout;
#   - berth import into a second root; every tag serves the same digest and pulls (skopeo verifies
#     every blob), the referrer is listed by the referrers API;
#   - berth export --format docker-archive; Debian's dockerd loads it and runs the images;
#   - berth backup while pushes run; backup verify; restore into an empty root; every tag of the
#     backup pulls with the digest the source had; a second backup copies only the new blobs.
# Usage: BERTH_BIN=build/berth transfer_test.sh   (root for dockerd)
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo jq curl
B=$BERTH_BIN
HOST_ARCH=$(dpkg --print-architecture)

seed_test_images

BB=$(fixture_digest busybox)
BB_SIZE=$(skopeo inspect --raw "oci:$FIXTURES/busybox:1" | wc -c)
SIG=$(push_artifact test/busybox "signed by test" "$BB" "$BB_SIZE") && pass "seed: referrer $SIG" || fail "seed referrer"

digest_at() { remote_digest "$1/$2"; }
TAGS=(test/busybox:1 test/layers3:1 test/multiarch:1)
declare -A WANT=()
for t in "${TAGS[@]}"; do WANT[$t]=$(digest_at "$A" "$t"); done
check_eq "busybox digest on A is the fixture's" "${WANT[test/busybox:1]}" "$BB"

# ================================================================ export / import
check "export every test/* tag to a tar while A serves" "$B" export -c "$T/a.yml" --repo 'test/*' "$T/out.tar"
check "export test/busybox to a directory" "$B" export -c "$T/a.yml" --repo test/busybox --tag '^1$' "$T/bb"
check_eq "skopeo reads the exported layout (digest)" "$(layout_digest "$T/bb" 1)" "$BB"
check_eq "the referrer is in the layout's index" \
  "$(jq -r --arg d "$SIG" '[.manifests[] | select(.digest == $d)] | length' "$T/bb/index.json")" 1
write_config "$T/b.yml" "$T/b"
check "import the tar into an empty root" "$B" import -c "$T/b.yml" "$T/out.tar"
check_contains "import reports verification" "$CHECK_OUT" "every digest verified"
start_server berth b "$T/b.yml"
for t in "${TAGS[@]}"; do
  check_eq "import: $t has A's digest" "$(digest_at "$REG" "$t")" "${WANT[$t]}"
  check "import: $t pulls (skopeo verifies every blob)" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
    "docker://$REG/$t" "oci:$T/pull-b:${t//\//_}"
done
check_eq "import: the referrer is listed for busybox" \
  "$(http_get "/v2/test/busybox/referrers/$BB" | jq -r '.manifests[0].digest')" "$SIG"
check_eq "import: layers3 kept its Docker schema 2 media type" \
  "$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/layers3:1" | jq -r .mediaType)" \
  application/vnd.docker.distribution.manifest.v2+json
# A tampered layout is refused, naming the digest.
mkdir -p "$T/bad" && cp -r "$T/bb/." "$T/bad/"
layer=$(jq -r '.layers[0].digest' "$T/bad/blobs/sha256/${BB#sha256:}")
printf 'X' | dd of="$T/bad/blobs/sha256/${layer#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
write_config "$T/bad.yml" "$T/bad-root"
refused "import of a tampered layer" "DIGEST_INVALID|hashes to|digest" "$B" import -c "$T/bad.yml" "$T/bad"
stop_server b

# ================================================================ docker-archive + docker load
check "export a docker-archive" "$B" export -c "$T/a.yml" --format docker-archive --repo 'test/*' "$T/docker.tar"
check_contains "the index's platform choice is reported" "$CHECK_OUT" "picked linux/$HOST_ARCH"
if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null && command -v docker >/dev/null; then
  D=$T/dockerd
  mkdir -p "$D" "$T/dockercfg"
  spawn dockerd dockerd --data-root "$D/root" --exec-root "$D/exec" --pidfile "$D/pid" \
    -H "unix://$D/sock" --storage-driver vfs --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false --bridge=none --userland-proxy=false \
    --default-ulimit nofile=20000:20000 --default-ulimit nproc=20000:20000
  export DOCKER_HOST=unix://$D/sock DOCKER_CONFIG=$T/dockercfg DOCKER_CLI_HINTS=false
  on_exit 'ids=$(timeout 30 docker ps -aq); [ -n "$ids" ] && timeout 60 docker rm -f $ids'
  if wait_for 60 run_to 10 docker version; then
    check "docker load the archive" docker load -i "$T/docker.tar"
    check_contains "docker load names every tag" "$CHECK_OUT" "test/multiarch:1"
    check "docker run the loaded busybox" docker run --rm --network host test/busybox:1 echo hi
    check_eq "busybox output" "$CHECK_OUT" hi
    check "docker run the loaded layers3" docker run --rm --network host test/layers3:1
    check_contains "layers3 output" "$CHECK_OUT" "layers3 says hello"
    check "docker run the loaded multiarch" docker run --rm --network host test/multiarch:1 cat /etc/image-arch
    check_eq "multiarch: the host platform was exported" "$CHECK_OUT" "$HOST_ARCH"
    cfg=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$A/test/busybox:1" | jq -r .config.digest)
    check_eq "loaded image ID is the config digest" "$(run_to 30 docker image inspect --format '{{.Id}}' test/busybox:1)" "$cfg"
  else
    fail "dockerd did not answer within 60 s"
  fi
else
  echo "note: docker load part skipped (needs root and docker.io)"
fi

# ================================================================ backup while pushes run
churn() { # pushes test/churn:N one after another until told to stop
  local i=0
  while [ ! -e "$T/stop-churn" ] && [ $i -lt 40 ]; do
    i=$((i + 1))
    push_artifact test/churn "churn $i $RANDOM" "" 0 "/$i" >/dev/null || echo "churn push $i failed" >>"$T/churn.err"
  done
  echo $i >"$T/churn.count"
}
REG=$A
churn & CHURN=$!
on_exit "touch '$T/stop-churn'; kill $CHURN 2>/dev/null"
churn_landed() { http_get /v2/test/churn/tags/list 2>/dev/null | jq -e '(.tags | length) > 0' >/dev/null 2>&1; }
wait_for 30 churn_landed || fail "no churn push landed"
check "backup while pushes run" "$B" backup "$T/a.yml" "$T/backup"
touch "$T/stop-churn"; wait $CHURN
check_eq "churn pushes all succeeded" "$(cat "$T/churn.err" 2>/dev/null)" ""
check "backup verify" "$B" backup verify "$T/backup"
write_config "$T/c.yml" "$T/c"
check "restore into an empty root" "$B" restore "$T/backup" "$T/c.yml"
refused "restore over a non-empty root" "empty" "$B" restore "$T/backup" "$T/c.yml"
start_server berth c "$T/c.yml"
C=$REG
n=0
while IFS=$'\t' read -r name digest; do
  n=$((n + 1))
  got=$(digest_at "$C" "$name")
  check_eq "restore: $name has its backed-up digest" "$got" "$digest"
  check_eq "restore: $name has the source's digest" "$(digest_at "$A" "$name")" "$digest"
  check "restore: $name pulls with verified blobs" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
    "docker://$C/$name" "oci:$T/pull-c:${name//[\/:]/_}"
done < <(jq -r '.manifests[] | select(.annotations["io.containerd.image.name"]) |
  [.annotations["io.containerd.image.name"], .digest] | @tsv' "$T/backup/index.json")
[ "$n" -ge 4 ] && pass "restore: $n tags checked" || fail "restore: only $n tags in the backup"
check_eq "restore: referrer listed" "$(http_get "/v2/test/busybox/referrers/$BB" | jq -r '.manifests[0].digest')" "$SIG"
stop_server c

# ================================================================ incremental
REG=$A
backup_line() { "$B" backup "$T/a.yml" "$T/backup" 2>"$T/backup.err" | grep '^backup:'; }
check "second backup (catches up with the pushes made during the first)" backup_line
check "third backup with nothing new" backup_line
check_contains "nothing new: 0 blobs copied" "$CHECK_OUT" " 0 new blob(s) copied"
check "push layers3 to another repository (no new blob)" push_fixture layers3 other/layers3:1
# The artifact's config is "{}", which the registry and the backup already hold: 1 new blob.
push_artifact test/fresh "a brand new layer $RANDOM" "" 0 /v1 >/dev/null && pass "pushed test/fresh:v1"
check "fourth backup" backup_line
check_contains "only the 1 new blob copied" "$CHECK_OUT" " 1 new blob(s) copied"
check_contains "and the new tags are in it" "$(jq -c '[.manifests[].annotations["io.containerd.image.name"]]' "$T/backup/index.json")" '"other/layers3:1"'
finish
