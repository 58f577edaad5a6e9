#!/usr/bin/env bash
# Interop: the Docker engine (Debian's dockerd 20.10 + docker CLI) and containerd's ctr against the
# server under test. One private dockerd (own data root, vfs, no bridge, no iptables) serves both:
#   docker: pull, run, tag, push, build (legacy builder, host network), cross-repository blob mount
#           (the server's access log must show it), manifest inspect --insecure, search (/v1/search);
#   ctr:    images pull/push --plain-http, --all-platforms for the image index, via the containerd
#           that dockerd starts at $D/exec/containerd/containerd.sock.
# Usage: BERTH_BIN=build/berth docker_test.sh   (root)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need dockerd docker ctr containerd runc skopeo jq curl

HOST_ARCH=$(dpkg --print-architecture)
case "$HOST_ARCH" in amd64) OTHER_ARCH=arm64 ;; *) OTHER_ARCH=amd64 ;; esac

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"
start_server sut reg "$T/cfg/config.yml"
for name in "${FIXTURE_NAMES[@]}"; do
  check "seed: skopeo copy $name" push_fixture "$name" "test/$name:1"
done

# --- a private dockerd, exactly as CLIENTS.md says (never a bridge network)
start_dockerd
CTRD_SOCK=$D/exec/containerd/containerd.sock

DRUN=(docker run --rm --network host)

# ================================================================ docker
check "docker pull busybox" docker pull -q "$REG/test/busybox:1"
check_contains "pulled image records the registry's digest" \
  "$(run_to 60 docker image inspect --format '{{json .RepoDigests}}' "$REG/test/busybox:1")" \
  "$REG/test/busybox@$(fixture_digest busybox)"
check "docker run busybox echo hi" "${DRUN[@]}" "$REG/test/busybox:1" echo hi
check_eq "echo hi output" "$CHECK_OUT" hi
check "docker pull by digest" docker pull -q "$REG/test/busybox@$(fixture_digest busybox)"
check "docker pull multiarch (index)" docker pull -q "$REG/test/multiarch:1"
check "docker run multiarch" "${DRUN[@]}" "$REG/test/multiarch:1" cat /etc/image-arch
check_eq "multiarch: the host platform was chosen" "$CHECK_OUT" "$HOST_ARCH"
check "docker pull layers3" docker pull -q "$REG/test/layers3:1"
check "docker run layers3" "${DRUN[@]}" "$REG/test/layers3:1"
check_contains "layers3 output" "$CHECK_OUT" "layers3 says hello"

# tag + push + pull back
check "docker tag" docker tag "$REG/test/busybox:1" "$REG/docker/busybox:pushed"
check "docker push" docker push -q "$REG/docker/busybox:pushed"
pushed=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/docker/busybox:pushed")
check_eq "docker pushed a schema 2 manifest" "$(jq -r .mediaType <<<"$pushed")" \
  application/vnd.docker.distribution.manifest.v2+json
check_eq "pushed config is the image ID" "$(jq -r .config.digest <<<"$pushed")" \
  "$(run_to 60 docker image inspect --format '{{.Id}}' "$REG/test/busybox:1")"
check "docker rmi the pushed tag and the source" docker rmi "$REG/docker/busybox:pushed" "$REG/test/busybox:1"
check "docker pull what docker pushed" docker pull -q "$REG/docker/busybox:pushed"
check "docker run it" "${DRUN[@]}" "$REG/docker/busybox:pushed" echo again
check_eq "run output" "$CHECK_OUT" again

# docker build (legacy builder) FROM the registry, and a cross-repository mount of its base layer
mkdir -p "$T/ctx-a" "$T/ctx-b"
printf 'FROM %s\nRUN echo image-a > /a.txt\nCMD ["cat", "/a.txt"]\n' "$REG/test/busybox:1" >"$T/ctx-a/Dockerfile"
printf 'FROM %s\nRUN echo image-b > /b.txt\nCMD ["cat", "/b.txt"]\n' "$REG/test/busybox:1" >"$T/ctx-b/Dockerfile"
check "docker build A --network host (FROM the registry)" docker build -q --network host --pull -t "$REG/docker/a:1" "$T/ctx-a"
check "docker build B --network host" docker build -q --network host -t "$REG/docker/b:1" "$T/ctx-b"
check "docker push A" docker push -q "$REG/docker/a:1"
base=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/docker/a:1" | jq -r '.layers[0].digest')
mounts_before=$(grep -c "mounted $base from" "$SERVER_LOG")
check "docker push B (shares A's base layer, other repository)" docker push -q "$REG/docker/b:1"
check_eq "B's base layer is A's" \
  "$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/docker/b:1" | jq -r '.layers[0].digest')" "$base"
sleep 0.5  # the access log line is written after the response
if [ "$BERTH_TEST_SERVER" = distribution ]; then
  # Distribution's access log: "POST /v2/docker/b/blobs/uploads/?from=...&mount=DIGEST HTTP/1.1" 201
  if grep -E "POST /v2/docker/b/blobs/uploads/\?[^ ]*mount=${base}[^ ]* HTTP/1.1\" 201" "$SERVER_LOG" >/dev/null ||
     grep -E "POST /v2/docker/b/blobs/uploads/\?[^ ]*mount=${base/:/%3A}[^ ]* HTTP/1.1\" 201" "$SERVER_LOG" >/dev/null; then
    pass "cross-repository mount of $base into docker/b (201 in the access log)"
  else
    fail "no successful mount POST for $base into docker/b in the access log"
    grep 'blobs/uploads' "$SERVER_LOG" | tail -n 10 | sed 's/^/    | /'
  fi
else
  mounts_after=$(grep -c "mounted $base from" "$SERVER_LOG")
  if [ "$mounts_after" -gt "$mounts_before" ] && grep "POST /v2/docker/b/blobs/uploads/" "$SERVER_LOG" |
       grep "mounted $base from" >/dev/null; then
    pass "cross-repository mount of $base into docker/b ($(grep "POST /v2/docker/b/blobs/uploads/" "$SERVER_LOG" |
      grep -o "mounted $base from [^ \"]*" | head -n1))"
  else
    fail "no 'mounted $base from' note for a POST to docker/b in the access log"
    grep 'blobs/uploads' "$SERVER_LOG" | tail -n 10 | sed 's/^/    | /'
  fi
fi
check "docker rmi A and B, pull B back, run it" bash -c "docker rmi $REG/docker/a:1 $REG/docker/b:1 >/dev/null &&
  docker pull -q $REG/docker/b:1 >/dev/null && docker run --rm --network host $REG/docker/b:1"
check_eq "B output" "$CHECK_OUT" image-b

# docker manifest inspect (client side)
check "docker manifest inspect --insecure (index)" docker manifest inspect --insecure "$REG/test/multiarch:1"
check_eq "index has 2 manifests" "$(jq -r '.manifests | length' <<<"$CHECK_OUT")" 2
check_contains "index lists $OTHER_ARCH" "$CHECK_OUT" "\"$OTHER_ARCH\""
check "docker manifest inspect --insecure -v (image)" docker manifest inspect --insecure -v "$REG/docker/a:1"
check_eq "verbose inspect names the manifest digest" "$(jq -r .Descriptor.digest <<<"$CHECK_OUT")" \
  "$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/docker/a:1" | sha256_of)"

# docker search needs GET /v1/search (Docker Hub's API; Distribution has none)
code=$(http_code "/v1/search?q=busybox&n=25")
if [ "$code" = 404 ] && [ "$BERTH_TEST_SERVER" = distribution ]; then
  echo "note: GET /v1/search answers 404 on Distribution (expected there; not counted)"
elif [ "$code" != 200 ]; then
  fail "docker search: GET /v1/search?q=busybox&n=25 answered $code, want 200 (endpoint missing?)"
else
  check "docker search $REG/busybox" docker search --format '{{.Name}}' "$REG/busybox"
  check_contains "search finds test/busybox" "$CHECK_OUT" "test/busybox"
  check "docker search $REG/nomatch-xyz" docker search --format '{{.Name}}' "$REG/nomatch-xyz"
  check_eq "no results for an unknown term" "$CHECK_OUT" ""
fi

# ================================================================ containerd ctr
if wait_for 10 test -S "$CTRD_SOCK"; then pass "dockerd's containerd socket is at $CTRD_SOCK"
else fail "no containerd socket at $CTRD_SOCK"; fi
CTR=(ctr -a "$CTRD_SOCK" -n interop)
ctr_digest() { run_to "${CTR[@]}" images ls | awk -v r="$1" '$1 == r {print $3}'; }

check "ctr pull busybox --plain-http" "${CTR[@]}" images pull --plain-http --snapshotter native "$REG/test/busybox:1"
check_eq "ctr: pulled digest" "$(ctr_digest "$REG/test/busybox:1")" "$(fixture_digest busybox)"
check "ctr pull multiarch --all-platforms" "${CTR[@]}" images pull --plain-http --all-platforms \
  "$REG/test/multiarch:1"
check_eq "ctr: index digest" "$(ctr_digest "$REG/test/multiarch:1")" "$(fixture_digest multiarch)"
idx=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/test/multiarch:1")
content=$(run_to "${CTR[@]}" content ls -q)  # captured: grep -q on a pipe would SIGPIPE ctr (pipefail)
for d in $(jq -r '.manifests[].digest' <<<"$idx"); do
  check "ctr: content of $d fetched" "${CTR[@]}" content get "$d"
  for l in $(jq -r '.layers[].digest' <<<"$CHECK_OUT"); do
    if grep -qx "$l" <<<"$content"; then pass "ctr: layer $l of $d present"
    else fail "ctr: layer $l of $d missing after --all-platforms"; fi
  done
done
check "ctr tag + push busybox" bash -c "$(printf '%q ' "${CTR[@]}") images tag $REG/test/busybox:1 $REG/ctr/busybox:1 &&
  $(printf '%q ' "${CTR[@]}") images push --plain-http $REG/ctr/busybox:1"
check_eq "ctr: pushed busybox keeps its digest" "$(remote_digest "$REG/ctr/busybox:1")" "$(fixture_digest busybox)"
check "ctr tag + push multiarch (whole index)" bash -c "$(printf '%q ' "${CTR[@]}") images tag $REG/test/multiarch:1 $REG/ctr/multiarch:1 &&
  $(printf '%q ' "${CTR[@]}") images push --plain-http $REG/ctr/multiarch:1"
check_eq "ctr: pushed index keeps its digest" "$(remote_digest "$REG/ctr/multiarch:1")" "$(fixture_digest multiarch)"
for d in $(jq -r '.manifests[].digest' <<<"$idx"); do
  check_eq "ctr: child $d pushed" "$(remote_digest "$REG/ctr/multiarch@$d")" "$d"
done
check "ctr rm + pull back what ctr pushed" bash -c "$(printf '%q ' "${CTR[@]}") images rm $REG/ctr/busybox:1 >/dev/null &&
  $(printf '%q ' "${CTR[@]}") content prune references >/dev/null 2>&1;
  $(printf '%q ' "${CTR[@]}") images pull --plain-http --snapshotter native $REG/ctr/busybox:1"

stop_proc dockerd 30
finish
