#!/usr/bin/env bash
# Interop: immutable tags and retention with a real client (skopeo) against the built binary.
# Immutable: a covered tag takes the same image again but refuses another image and deletion with
# DENIED naming the rule; uncovered tags move freely. Retention: `berth retention run` (dry run, then
# for real, beside the running server) deletes the old tag of client-pushed images and nothing a kept
# multi-arch index needs; every kept image then copies back whole.
# Usage: BERTH_BIN=build/berth policy_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo curl jq
[ "$BERTH_TEST_SERVER" = berth ] || skip_test "berth.immutable and berth.retention are Berth's own"

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data" "berth:
  storage:
    listingttl: 1s
  immutable:
    rules:
      - name: releases
        repository: \"release/*\"
        tags: ['^v[0-9]+\\.[0-9]+\\.[0-9]+\$']
  retention:
    interval: 0s
    rules:
      - name: builds
        repository: \"ci/*\"
        keepnewest: 1
        protected: [latest]"
start_server sut reg "$T/cfg/config.yml"
mkdir -p "$T/back"

# --- immutable tags
check "push release/app:v1.0.0" push_fixture busybox release/app:v1.0.0
check "push the same image to v1.0.0 again (a retry)" push_fixture busybox release/app:v1.0.0
refused "moving v1.0.0 to another image" 'denied.*immutable rule' \
  push_fixture layers3 release/app:v1.0.0
check_eq "v1.0.0 still points at the first image" "$(remote_digest "$REG/release/app:v1.0.0")" \
  "$(fixture_digest busybox)"
refused "skopeo delete of v1.0.0 (DELETE by digest)" 'denied' \
  "${SKOPEO[@]}" delete --tls-verify=false "docker://$REG/release/app:v1.0.0"
code=$(curl -sS -m 30 -o "$T/del.json" -w '%{http_code}' -X DELETE "http://$REG/v2/release/app/manifests/v1.0.0")
check_eq "DELETE of the tag: status" "$code" 403
check_eq "DELETE of the tag: OCI error code" "$(jq -r '.errors[0].code' "$T/del.json")" DENIED
check "latest is not covered: push busybox" push_fixture busybox release/app:latest
check "latest is not covered: move it to layers3" push_fixture layers3 release/app:latest
check_eq "latest moved" "$(remote_digest "$REG/release/app:latest")" "$(fixture_digest layers3)"

# --- retention over client-pushed images
check "push ci/app:b1 (busybox)" push_fixture busybox ci/app:b1
check "push ci/app:b2 (multi-arch index)" push_fixture multiarch ci/app:b2
check "push ci/app:latest (layers3)" push_fixture layers3 ci/app:latest
links=$T/data/docker/registry/v2/repositories/ci/app/_manifests/tags
touch -d "@$(($(date +%s) - 3 * 86400))" "$links/b1/current/link" "$links/latest/current/link"
touch -d "@$(($(date +%s) - 1 * 86400))" "$links/b2/current/link"
b1=$(fixture_digest busybox)

out=$(run_to "$BERTH_BIN" retention run --dry-run "$T/cfg/config.yml" 2>&1)
check_contains "dry run names the old build" "$out" 'ci/app:b1 would be deleted: not among the newest 1 [rule "builds"]'
check_contains "dry run keeps the newest build" "$out" 'ci/app:b2 kept: newest 1 (#1) [rule "builds"]'
check_contains "dry run keeps the protected tag" "$out" 'ci/app:latest kept: protected [rule "builds"]'
check_eq "dry run deleted nothing" "$(remote_digest "$REG/ci/app:b1")" "$b1"

out=$(run_to "$BERTH_BIN" retention run "$T/cfg/config.yml" 2>&1)
check_contains "run deletes the old build" "$out" 'ci/app:b1 deleted'
check_contains "run deletes its manifest" "$out" "ci/app@$b1 manifest deleted: its tags were deleted"
tags_are() { [ "$(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/ci/app" | jq -c .Tags)" = "$1" ]; }
check "the server lists the remaining tags" wait_for 20 tags_are '["b2","latest"]'
check_eq "b1's manifest is gone" "$(http_code "/v2/ci/app/manifests/$b1")" 404
check "b2 (multi-arch) copies back whole" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
  "docker://$REG/ci/app:b2" "oci:$T/back/b2:1"
check_eq "b2 copied back with its digest" "$(layout_digest "$T/back/b2" 1)" "$(fixture_digest multiarch)"
check_eq "the release repository is untouched" "$(remote_digest "$REG/release/app:v1.0.0")" "$b1"

finish
