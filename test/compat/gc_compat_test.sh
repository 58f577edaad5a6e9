#!/usr/bin/env bash
# Compat: `berth garbage-collect` on a tree written by CNCF Distribution (Debian's docker-registry).
# Distribution pushes a multi-arch index (its platform manifests untagged), an image whose tag then
# moves to another image, and an image it deletes; Berth collects with --delete-untagged; Distribution
# serving the tree again pulls every tag with verified digests, and the garbage is gone. The same
# tree collected by Distribution's own garbage-collect loses the index's children (distribution#3178).
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo jq curl
[ -x "$DISTRIBUTION_BIN" ] || skip_test "$DISTRIBUTION_BIN is not installed"
[ -x "${BERTH_BIN:-}" ] || { fail "BERTH_BIN is not set"; finish; }

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"
blob_count() { find "$1/docker/registry/v2/blobs" -name data | wc -l; }

start_server distribution writer "$T/cfg/config.yml"
check "distribution: push multiarch (index, untagged children)" push_fixture multiarch multi/app:1
check "distribution: push busybox" push_fixture busybox app/one:1
check "distribution: move the tag to layers3 (busybox untagged)" push_fixture layers3 app/one:1
check "distribution: push then delete" push_fixture layers3 gone/x:1
check "distribution: delete gone/x:1" "${SKOPEO[@]}" delete --tls-verify=false "docker://$REG/gone/x:1"
stop_server writer
cp -a "$T/data" "$T/data-dist"
before=$(blob_count "$T/data")

check "berth garbage-collect --dry-run deletes nothing" \
  "$BERTH_BIN" garbage-collect --dry-run --delete-untagged --grace-period 0s "$T/cfg/config.yml"
check_eq "dry run left every blob" "$(blob_count "$T/data")" "$before"
check "berth garbage-collect --delete-untagged" \
  "$BERTH_BIN" garbage-collect --delete-untagged --grace-period 0s "$T/cfg/config.yml"
after=$(blob_count "$T/data")
check "berth collected the untagged busybox image ($before -> $after blobs)" test "$after" -lt "$before"

start_server distribution reader "$T/cfg/config.yml"
check "distribution: every tag pulls back (digests verified)" pull_all "$T/back"
check_eq "multi-arch image intact" "$(layout_digest "$T/back/multi/app" 1)" "$(fixture_digest multiarch)"
check_eq "the untagged busybox manifest is gone" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "Accept: $(fixture_mediatype busybox)" \
    "http://$REG/v2/app/one/manifests/$(fixture_digest busybox)")" 404
stop_server reader

# The contrast: Distribution's collector on the copy deletes the platform manifests.
write_config "$T/cfg/dist.yml" "$T/data-dist"
check "docker-registry garbage-collect --delete-untagged" \
  "$DISTRIBUTION_BIN" garbage-collect --delete-untagged "$T/cfg/dist.yml"
start_server distribution dist "$T/cfg/dist.yml"
check "distribution's own collector broke the multi-arch image (what berth avoids)" \
  bash -c "! ${SKOPEO[*]} copy -q --all --src-tls-verify=false docker://$REG/multi/app:1 oci:$T/broken:1"
stop_server dist
finish
