#!/usr/bin/env bash
# Compat: on-disk layout compatibility between Berth and CNCF Distribution (Debian's docker-registry).
# WRITER pushes the fixtures (OCI and Docker media types, an image index, a manifest list, several
# tags), is stopped; READER serves the same rootdirectory and must give back identical manifest
# digests, tags and catalog, and pulls must verify. Then READER writes (a new tag, a new repository,
# a delete) and WRITER, restarted, must see exactly that.
# Usage: BERTH_BIN=build/berth storage_compat_test.sh WRITER READER   (berth|distribution)
. "$(dirname "$0")/../lib.sh"
lib_init
WRITER=${1:?writer: berth or distribution}
READER=${2:?reader: berth or distribution}
need skopeo jq curl
[ -x "$DISTRIBUTION_BIN" ] || skip_test "$DISTRIBUTION_BIN is not installed"

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"

# snapshot FILE: digests of every tag of every repository, tags per repository, and the catalog.
snapshot() {
  local out=$1 repo tag
  : >"$out"
  # The catalog is in lexical order on both; tags/list is not on Distribution 2.8 (directory order
  # without ?n=), so tags are compared as sets.
  http_get "/v2/_catalog?n=1000" | jq -c '.repositories' | sed 's/^/catalog /' >>"$out"
  for repo in $(http_get "/v2/_catalog?n=1000" | jq -r '.repositories[]'); do
    run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/$repo" | jq -c '.Tags | sort' |
      sed "s|^|tags $repo |" >>"$out"
    for tag in $(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/$repo" | jq -r '.Tags | sort | .[]'); do
      echo "manifest $repo:$tag $(remote_digest "$REG/$repo:$tag")" >>"$out"
    done
  done
}


# ---------------------------------------------------------------- WRITER pushes
start_server "$WRITER" writer "$T/cfg/config.yml"
for name in "${FIXTURE_NAMES[@]}"; do
  check "$WRITER: push $name" push_fixture "$name" "test/$name:1"
done
check "$WRITER: push busybox as v2s2" push_fixture busybox docker/busybox:1 --format v2s2
check "$WRITER: push multiarch as a v2s2 manifest list" push_fixture multiarch docker/multiarch:1 --format v2s2
check "$WRITER: push busybox into a nested repository, two tags" push_fixture busybox a/b/c/busybox:latest
check "$WRITER: second tag" push_fixture busybox a/b/c/busybox:v2
check "$WRITER: layers3 shares busybox's layer in another repo" push_fixture layers3 team/app:3
# An unreferenced, deleted manifest must stay deleted for the reader too.
check "$WRITER: push then delete" push_fixture layers3 team/gone:1
check "$WRITER: delete team/gone:1" "${SKOPEO[@]}" delete --tls-verify=false "docker://$REG/team/gone:1"
snapshot "$T/by-writer.txt"
check_eq "$WRITER: fixtures served with their digests" \
  "$(grep -c "^manifest test/" "$T/by-writer.txt")" 3
for name in "${FIXTURE_NAMES[@]}"; do
  check_eq "$WRITER: test/$name digest" "$(remote_digest "$REG/test/$name:1")" "$(fixture_digest "$name")"
done
stop_server writer

# ---------------------------------------------------------------- READER serves the same directory
start_server "$READER" reader "$T/cfg/config.yml"
snapshot "$T/by-reader.txt"
if diff -u "$T/by-writer.txt" "$T/by-reader.txt" >"$T/diff.txt"; then
  pass "$READER serves the same catalog, tags and manifest digests as $WRITER ($(wc -l <"$T/by-reader.txt") lines)"
else
  fail "$READER differs from $WRITER"; sed 's/^/    | /' "$T/diff.txt"
fi
for name in "${FIXTURE_NAMES[@]}"; do
  check_eq "$READER: test/$name digest" "$(remote_digest "$REG/test/$name:1")" "$(fixture_digest "$name")"
done
check "$READER: pull everything back (blob digests verified)" pull_all "$T/back"
for name in "${FIXTURE_NAMES[@]}"; do
  check_eq "$READER: pulled test/$name layout digest" "$(layout_digest "$T/back/test/$name" 1)" "$(fixture_digest "$name")"
done
check_eq "$READER: deleted manifest stays deleted" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/team/gone/manifests/$(fixture_digest layers3)")" 404
check_eq "$READER: blob HEAD by digest" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -I "http://$REG/v2/team/app/blobs/$(
    run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$REG/team/app:3" | jq -r '.layers[0].digest')")" 200
check "$READER: catalog pagination (n=2) walks every repository" bash -c '
  url="/v2/_catalog?n=2"; all=""
  for i in $(seq 1 20); do
    hdr=$(curl -sS -m 30 -D - -o '"$T"'/page.json "http://'"$REG"'$url" | tr -d "\r")
    all="$all $(jq -r ".repositories[]" '"$T"'/page.json)"
    url=$(sed -n "s/^[Ll]ink: <\([^>]*\)>.*/\1/p" <<<"$hdr"); [ -n "$url" ] || break
  done
  want=$(curl -sS -m 30 "http://'"$REG"'/v2/_catalog?n=1000" | jq -r ".repositories[]" | tr "\n" " ")
  [ "$(echo $all)" = "$(echo $want)" ] || { echo "paged: $all"; echo "whole: $want"; exit 1; }'

# READER writes: a new tag on an existing repository, a new repository, a delete.
check "$READER: add a tag to test/busybox" "${SKOPEO[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REG/test/busybox:1" "docker://$REG/test/busybox:from-reader"
check "$READER: push into a new repository" push_fixture layers3 reader/new:1
check "$READER: delete a/b/c/busybox (both tags)" "${SKOPEO[@]}" delete --tls-verify=false \
  "docker://$REG/a/b/c/busybox:v2"
snapshot "$T/by-reader2.txt"
stop_server reader

# ---------------------------------------------------------------- WRITER again
start_server "$WRITER" writer2 "$T/cfg/config.yml"
snapshot "$T/by-writer2.txt"
if diff -u "$T/by-reader2.txt" "$T/by-writer2.txt" >"$T/diff2.txt"; then
  pass "$WRITER sees exactly what $READER wrote"
else
  fail "$WRITER differs from what $READER wrote"; sed 's/^/    | /' "$T/diff2.txt"
fi
check_contains "$WRITER: reader's new repository in the catalog" "$(head -n1 "$T/by-writer2.txt")" '"reader/new"'
check_eq "$WRITER: reader's new tag" "$(remote_digest "$REG/test/busybox:from-reader")" "$(fixture_digest busybox)"
out=$(run_to "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$REG/a/b/c/busybox" 2>/dev/null | jq -c '.Tags')
case "$out" in '[]' | '' | null) pass "$WRITER: tags deleted by $READER stay deleted" ;;
  *) fail "$WRITER: a/b/c/busybox tags after $READER deleted them: $out" ;; esac
check "$WRITER: pull the reader's push" "${SKOPEO[@]}" copy -q --src-tls-verify=false \
  "docker://$REG/reader/new:1" "oci:$T/back2:1"
check_eq "$WRITER: reader's push has its digest" "$(layout_digest "$T/back2" 1)" "$(fixture_digest layers3)"

finish
