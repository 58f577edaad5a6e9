#!/usr/bin/env bash
# berth sync / berth copy between registries on 127.0.0.1:0: Berth (source, with the test images:
# OCI, Docker schema 2, multi-arch index, a referrer) to Debian's docker-registry 2.8.2 and to
# another Berth with htpasswd authentication. Checks: digests unchanged and every image pulls
# (skopeo verifies every blob), a second sync copies nothing, --dry-run copies nothing, a
# destination that is down fails the run and the next run catches up with only what is missing.
# Usage: BERTH_BIN=build/berth replicate_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo jq curl "$DISTRIBUTION_BIN"
B=$BERTH_BIN

seed_test_images
BB=$(fixture_digest busybox)
SIG=$(push_artifact test/busybox "signed" "$BB" "$(skopeo inspect --raw "oci:$FIXTURES/busybox:1" | wc -c)") &&
  pass "seed: referrer of busybox" || fail "seed: referrer of busybox"

TAGS=(test/busybox:1 test/layers3:1 test/multiarch:1)
declare -A WANT=()
for t in "${TAGS[@]}"; do WANT[$t]=$(remote_digest "$A/$t"); done

# ================================================================ to Debian's docker-registry
write_config "$T/d.yml" "$T/d"
start_server distribution d "$T/d.yml"
D=$REG
check "sync --dry-run" "$B" sync --dry-run "http://$A" "http://$D"
check_contains "dry run lists 3 images" "$CHECK_OUT" "3 image(s) to copy"
check_eq "dry run pushed nothing" "$(curl -sS -m 10 "http://$D/v2/_catalog" | jq -c .repositories)" "[]"
# 1 MiB chunks: the 1 MiB busybox layer and the 4 MiB layers3 layer go up in PATCH chunks.
check "sync A -> docker-registry (chunked uploads)" "$B" sync --chunk-size 1048576 "http://$A" "http://$D"
check_contains "sync summary" "$CHECK_OUT" "3 image(s) copied"
for t in "${TAGS[@]}"; do
  check_eq "docker-registry: $t has the source digest" "$(remote_digest "$D/$t")" "${WANT[$t]}"
  check "docker-registry: $t pulls (every blob verified)" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
    "docker://$D/$t" "oci:$T/pull-d:${t//\//_}"
done
check_eq "docker-registry: the referrer arrived (by digest)" "$(remote_digest "$D/test/busybox@$SIG")" "$SIG"
check "second sync" "$B" sync "http://$A" "http://$D"
check_contains "second sync copies nothing" "$CHECK_OUT" "0 image(s) copied, 3 up to date; 0 manifest(s), 0 blob(s) uploaded"

# ================================================================ down, then catching up
REG=$A check "push a new image to the source" push_fixture busybox test/new:1
stop_server d
out=$("$B" sync --retries 1 "http://$A" "http://$D" 2>&1); rc=$?
check_eq "sync to a stopped destination exits 1" "$rc" 1
check_contains "and lists the images it could not copy" "$out" "4 failure(s)"
start_server distribution d2 "$T/d.yml"   # same storage, new port
D=$REG
check "sync after the destination is back" "$B" sync "http://$A" "http://$D"
check_contains "only the missing image is copied" "$CHECK_OUT" "1 image(s) copied, 3 up to date"
check_eq "caught up: test/new:1" "$(remote_digest "$D/test/new:1")" "$BB"

# ================================================================ to another Berth with auth
printf 's3cret\n' | "$B" htpasswd add alice -f "$T/htpasswd" --cost 4 >/dev/null
write_config "$T/b.yml" "$T/b" "auth:" "  htpasswd:" "    realm: test" "    path: $T/htpasswd"
start_server berth b "$T/b.yml"
refused "copy without credentials is refused" "UNAUTHORIZED|unauthorized|401" \
  "$B" copy "http://$A/test/multiarch:1" "http://$REG/copy/multiarch:2"
check "copy the index with --dest-creds" "$B" copy --dest-creds alice:s3cret "http://$A/test/multiarch:1" "http://$REG/copy/multiarch:2"
check_eq "berth: copy/multiarch:2 has the source digest" \
  "$(digest_or_error copy/multiarch:2 "${SKOPEO[@]}" inspect --raw --tls-verify=false --creds alice:s3cret "docker://$REG/copy/multiarch:2")" \
  "${WANT[test/multiarch:1]}"
check "copy busybox (with its referrer)" "$B" copy --dest-creds alice:s3cret "http://$A/test/busybox:1" "http://$REG/copy/busybox:1"
check_eq "berth: the referrer is listed at the destination" \
  "$(curl -sS -m 10 -u alice:s3cret "http://$REG/v2/copy/busybox/referrers/$BB" | jq -r '.manifests[0].digest')" "$SIG"
check "sync A -> berth (all, with credentials)" "$B" sync --dest-creds alice:s3cret "http://$A" "http://$REG"
# The busybox layer is in test/busybox, test/layers3 and test/new: uploaded once, then mounted.
summary=$(grep 'failure(s)' <<<"$CHECK_OUT")
echo "    $summary"
check_eq "shared layers are mounted, not uploaded again" "$(grep -Eo '[0-9]+ mounted' <<<"$summary")" "4 mounted"
check "pull test/layers3:1 from the Berth copy" "${SKOPEO[@]}" copy -q --src-tls-verify=false --src-creds alice:s3cret \
  "docker://$REG/test/layers3:1" "oci:$T/pull-b:layers3"
finish
