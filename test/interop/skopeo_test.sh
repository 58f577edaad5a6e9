#!/usr/bin/env bash
# Interop: skopeo against the server under test (Berth; BERTH_TEST_SERVER=distribution for a dry run).
# Copies every fixture in and back out (OCI and Docker schema 2 media types, image index and manifest
# list with --all) and checks digests are preserved; inspect, inspect --raw/--config, list-tags, delete.
# Usage: BERTH_BIN=build/berth skopeo_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo curl jq

HOST_ARCH=$(dpkg --print-architecture)
case "$HOST_ARCH" in amd64) OTHER_ARCH=arm64 ;; *) OTHER_ARCH=amd64 ;; esac

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"
start_server sut reg "$T/cfg/config.yml"
mkdir -p "$T/back"

blobs_of() { (cd "$1/blobs/sha256" && ls | sort | tr '\n' ' '); }

# --- OCI media types: each fixture in and back, digests preserved.
for name in "${FIXTURE_NAMES[@]}"; do
  want=$(fixture_digest "$name")
  all=(); [ "$name" = multiarch ] && all=(--all)
  check "copy $name into the registry" push_fixture "$name" "test/$name:1"
  check_eq "$name: registry serves the pushed manifest digest" "$(remote_digest "$REG/test/$name:1")" "$want"
  check "copy $name back to an OCI layout" "${SKOPEO[@]}" copy -q "${all[@]}" --src-tls-verify=false \
    "docker://$REG/test/$name:1" "oci:$T/back/$name:1"
  check_eq "$name: pulled layout has the same manifest digest" "$(layout_digest "$T/back/$name" 1)" "$want"
  check_eq "$name: pulled layout has the same blobs" "$(blobs_of "$T/back/$name")" "$(blobs_of "$FIXTURES/$name")"
  # Fetching by digest must give the same bytes.
  check_eq "$name: manifest by digest" "$(remote_digest "$REG/test/$name@$want")" "$want"
done

# --- Docker schema 2 (v2s2) media types, a manifest list with --all.
check "copy busybox --format v2s2" push_fixture busybox test/v2s2/busybox:1 --format v2s2
raw=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/v2s2/busybox:1")
check_eq "v2s2 manifest media type" "$(jq -r .mediaType <<<"$raw")" \
  application/vnd.docker.distribution.manifest.v2+json
check_eq "v2s2 config media type" "$(jq -r .config.mediaType <<<"$raw")" \
  application/vnd.docker.container.image.v1+json
v2dig=$(printf '%s' "$raw" | sha256_of)
check "copy the v2s2 image back (dir:)" "${SKOPEO[@]}" copy -q --src-tls-verify=false \
  "docker://$REG/test/v2s2/busybox:1" "dir:$T/back/v2s2-busybox"
check_eq "v2s2: pulled manifest has the served digest" \
  "$(sha256_of <"$T/back/v2s2-busybox/manifest.json")" "$v2dig"
check "copy it again from the registry into another repository (v2s2 preserved)" \
  "${SKOPEO[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REG/test/v2s2/busybox:1" "docker://$REG/test/v2s2/busybox-copy:1"
check_eq "v2s2: registry-to-registry copy keeps the digest" \
  "$(remote_digest "$REG/test/v2s2/busybox-copy:1")" "$v2dig"

check "copy multiarch --all --format v2s2 (manifest list)" push_fixture multiarch test/v2s2/multiarch:1 --format v2s2
raw=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/v2s2/multiarch:1")
check_eq "v2s2 list media type" "$(jq -r .mediaType <<<"$raw")" \
  application/vnd.docker.distribution.manifest.list.v2+json
check_eq "v2s2 list has 2 manifests" "$(jq -r '.manifests | length' <<<"$raw")" 2
listdig=$(printf '%s' "$raw" | sha256_of)
check "copy the manifest list back --all (dir:)" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
  "docker://$REG/test/v2s2/multiarch:1" "dir:$T/back/v2s2-multiarch"
check_eq "v2s2 list: pulled list has the served digest" \
  "$(sha256_of <"$T/back/v2s2-multiarch/manifest.json")" "$listdig"
for d in $(jq -r '.manifests[].digest' <<<"$raw"); do
  m=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/v2s2/multiarch@$d")
  check_eq "v2s2 list child $d served by digest" "$(printf '%s' "$m" | sha256_of)" "$d"
  check_eq "v2s2 list child is a v2s2 manifest" "$(jq -r .mediaType <<<"$m")" \
    application/vnd.docker.distribution.manifest.v2+json
done

# --- inspect
out=$(run_to "${SKOPEO[@]}" inspect --tls-verify=false "docker://$REG/test/busybox:1")
check_eq "inspect: Digest" "$(jq -r .Digest <<<"$out")" "$(fixture_digest busybox)"
check_eq "inspect: Architecture" "$(jq -r .Architecture <<<"$out")" "$HOST_ARCH"
check_eq "inspect: RepoTags" "$(jq -c .RepoTags <<<"$out")" '["1"]'
check_eq "inspect: Layers" "$(jq -r '.Layers | length' <<<"$out")" 1
check_eq "inspect: Labels" "$(jq -r '.Labels["org.opencontainers.image.title"]' <<<"$out")" busybox
cfg=$(run_to "${SKOPEO[@]}" inspect --config --tls-verify=false "docker://$REG/test/busybox:1")
check_eq "inspect --config: Cmd" "$(jq -c .config.Cmd <<<"$cfg")" '["sh"]'
check_eq "inspect --config: os" "$(jq -r .os <<<"$cfg")" linux
cfgraw_dig=$(run_to "${SKOPEO[@]}" inspect --config --raw --tls-verify=false \
  "docker://$REG/test/busybox:1" | sha256_of)
check_eq "inspect --config --raw: bytes hash to the manifest's config digest" "$cfgraw_dig" \
  "$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/busybox:1" | jq -r .config.digest)"
out=$(run_to "${SKOPEO[@]}" inspect --tls-verify=false "docker://$REG/test/layers3:1")
check_eq "inspect layers3: 3 layers" "$(jq -r '.Layers | length' <<<"$out")" 3
raw=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/multiarch:1")
check_eq "inspect --raw multiarch: OCI index" "$(jq -r .mediaType <<<"$raw")" application/vnd.oci.image.index.v1+json
other=$(jq -r --arg a "$OTHER_ARCH" '.manifests[] | select(.platform.architecture == $a) | .digest' <<<"$raw")
other_layers=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/multiarch@$other" |
  jq -c '[.layers[].digest]')
out=$(run_to "${SKOPEO[@]}" inspect --override-arch "$OTHER_ARCH" --tls-verify=false "docker://$REG/test/multiarch:1")
check_eq "inspect: Digest of an index is the index's" "$(jq -r .Digest <<<"$out")" "$(fixture_digest multiarch)"
check_eq "inspect --override-arch $OTHER_ARCH picks that platform's manifest" "$(jq -c .Layers <<<"$out")" "$other_layers"
check_eq "inspect --override-arch $OTHER_ARCH: Architecture" "$(jq -r .Architecture <<<"$out")" "$OTHER_ARCH"

# --- list-tags
for tag in 2 latest; do
  check "copy busybox as :$tag (registry to registry)" "${SKOPEO[@]}" copy -q --src-tls-verify=false \
    --dest-tls-verify=false "docker://$REG/test/busybox:1" "docker://$REG/test/busybox:$tag"
done
out=$(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/test/busybox")
check_eq "list-tags test/busybox" "$(jq -c '.Tags | sort' <<<"$out")" '["1","2","latest"]'
check_eq "list-tags: Repository" "$(jq -r .Repository <<<"$out")" "$REG/test/busybox"
refused "list-tags of an unknown repository fails with NAME_UNKNOWN" 'name unknown|name_unknown|404' \
  "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/test/nope"

# --- catalog
cat_json=$(http_get /v2/_catalog)
check_eq "catalog" "$(jq -c '.repositories | sort' <<<"$cat_json")" \
  '["test/busybox","test/layers3","test/multiarch","test/v2s2/busybox","test/v2s2/busybox-copy","test/v2s2/multiarch"]'

# --- delete (by digest: removes every tag pointing at it)
check "push layers3 as test/del:keep" push_fixture layers3 test/del:keep
check "push busybox as test/del:gone" push_fixture busybox test/del:gone
check "push busybox as test/del:gone2" push_fixture busybox test/del:gone2
check "skopeo delete test/del:gone" "${SKOPEO[@]}" delete --tls-verify=false "docker://$REG/test/del:gone"
out=$(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/test/del")
check_eq "after delete: only the other image's tag is left" "$(jq -c '.Tags | sort' <<<"$out")" '["keep"]'
refused "deleted tag no longer resolves (MANIFEST_UNKNOWN)" 'manifest unknown|manifest_unknown|404' \
  "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/test/del:gone"
check_eq "deleted manifest by digest answers 404" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/test/del/manifests/$(fixture_digest busybox)")" 404
check_eq "other repositories keep the manifest" "$(remote_digest "$REG/test/busybox:1")" "$(fixture_digest busybox)"
check_eq "the kept tag still resolves" "$(remote_digest "$REG/test/del:keep")" "$(fixture_digest layers3)"
check "delete by digest (multiarch index)" "${SKOPEO[@]}" delete --tls-verify=false \
  "docker://$REG/test/multiarch@$(fixture_digest multiarch)"
out=$(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/test/multiarch")
check_eq "after deleting the index its tag is gone" "$(jq -c '.Tags' <<<"$out")" '[]'

finish
