#!/usr/bin/env bash
# Interop: buildah against the server under test. Builds a Dockerfile FROM an image in the registry
# (chroot isolation, host network), pushes the result back, then pulls it into a fresh podman
# store and runs it.
# Usage: BERTH_BIN=build/berth buildah_test.sh   (root; vfs storage)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need buildah podman skopeo runc jq

B=(buildah --storage-driver vfs --root "$T/b/root" --runroot "$T/b/run")
P=(podman --storage-driver vfs --root "$T/p/root" --runroot "$T/p/run"
   --cgroup-manager cgroupfs --events-backend file --runtime runc)
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=20000:20000)
export REGISTRY_AUTH_FILE=$T/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
on_exit 'timeout 60 "${B[@]}" rm -a; timeout 60 "${P[@]}" rm -af'

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"
start_server sut reg "$T/cfg/config.yml"
check "seed: skopeo copy busybox" push_fixture busybox test/busybox:1

mkdir -p "$T/ctx"
echo "payload from the build context" >"$T/ctx/payload.txt"
cat >"$T/ctx/Dockerfile" <<EOF
FROM $REG/test/busybox:1
COPY payload.txt /payload.txt
RUN echo "built by buildah on \$(uname -m)" > /built.txt && cat /payload.txt >> /built.txt
LABEL org.opencontainers.image.title=built-hi
CMD ["cat", "/built.txt"]
EOF

check "buildah build FROM the registry" "${B[@]}" build --isolation chroot --network host --tls-verify=false \
  "${ULIMITS[@]}" -t "$REG/built/hi:1" "$T/ctx"
check "buildah push" "${B[@]}" push --tls-verify=false "$REG/built/hi:1"
raw=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/built/hi:1")
check_eq "pushed image has 2 layers (base + one for the build, buildah default)" "$(jq -r '.layers | length' <<<"$raw")" 2
base=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/test/busybox:1" | jq -r '.layers[0].digest')
check_eq "the base layer is the registry's busybox layer" "$(jq -r '.layers[0].digest' <<<"$raw")" "$base"
built_dig=$(printf '%s' "$raw" | sha256_of)
check "buildah push to a second repository (blob reuse)" "${B[@]}" push --tls-verify=false \
  "$REG/built/hi:1" "docker://$REG/built/hi-copy:1"

check "podman pull the built image (fresh store)" "${P[@]}" pull -q --tls-verify=false "$REG/built/hi:1"
check_eq "pulled digest equals the pushed manifest's" \
  "$(run_to "${P[@]}" image inspect --format '{{.Digest}}' "$REG/built/hi:1")" "$built_dig"
check "podman run the built image" "${P[@]}" run --rm --network host "${ULIMITS[@]}" "$REG/built/hi:1"
check_contains "built image output (RUN)" "$CHECK_OUT" "built by buildah on"
check_contains "built image output (COPY)" "$CHECK_OUT" "payload from the build context"
check "buildah from + run on the pushed image" bash -c "c=\$($(printf '%q ' "${B[@]}") from -q --tls-verify=false \
  --pull-always $REG/built/hi-copy:1) && $(printf '%q ' "${B[@]}") run --isolation chroot --network host \$c cat /payload.txt"
check_eq "buildah run output" "$CHECK_OUT" "payload from the build context"

finish
