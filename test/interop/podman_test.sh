#!/usr/bin/env bash
# Interop: podman against the server under test. pull, tag, push, search (catalog and --list-tags),
# manifest create/add/push --all, and running images pulled from the registry.
# Usage: BERTH_BIN=build/berth podman_test.sh   (root; vfs storage, runc, host network)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need podman skopeo runc jq curl

HOST_ARCH=$(dpkg --print-architecture)
case "$HOST_ARCH" in amd64) OTHER_ARCH=arm64 ;; *) OTHER_ARCH=amd64 ;; esac

# Podman settings from CLIENTS.md: private vfs storage, cgroupfs, file events, runc.
P=(podman --storage-driver vfs --root "$T/p/root" --runroot "$T/p/run"
   --cgroup-manager cgroupfs --events-backend file --runtime runc)
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=20000:20000)
# A private auth file (no login needed; podman refuses a missing one) and registries.conf
# (marks the registry insecure for commands without --tls-verify, e.g. manifest inspect).
export REGISTRY_AUTH_FILE=$T/auth.json CONTAINERS_REGISTRIES_CONF=$T/registries.conf
echo '{}' >"$REGISTRY_AUTH_FILE"
# Remove anything podman left mounted or running before $T goes away.
on_exit 'timeout 60 "${P[@]}" rm -af'

build_fixtures "$T/img"
write_config "$T/cfg/config.yml" "$T/data"
start_server sut reg "$T/cfg/config.yml"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >"$CONTAINERS_REGISTRIES_CONF"

for name in "${FIXTURE_NAMES[@]}"; do
  check "seed: skopeo copy $name" push_fixture "$name" "test/$name:1"
done

# --- pull
check "podman pull busybox" "${P[@]}" pull -q --tls-verify=false "$REG/test/busybox:1"
check_eq "pulled image has the registry's manifest digest" \
  "$(run_to "${P[@]}" image inspect --format '{{.Digest}}' "$REG/test/busybox:1")" "$(fixture_digest busybox)"
check "podman pull layers3" "${P[@]}" pull -q --tls-verify=false "$REG/test/layers3:1"
check "podman pull multiarch (index: host platform chosen)" "${P[@]}" pull -q --tls-verify=false "$REG/test/multiarch:1"
check "podman pull by digest" "${P[@]}" pull -q --tls-verify=false "$REG/test/busybox@$(fixture_digest busybox)"

# --- run what was pulled (the busybox fixture is a static busybox with applet links in /bin)
check "podman run busybox echo hi" "${P[@]}" run --rm --network host "${ULIMITS[@]}" "$REG/test/busybox:1" echo hi
check_eq "echo hi output" "$CHECK_OUT" hi
check "podman run layers3 (default command /app/run.sh)" "${P[@]}" run --rm --network host "${ULIMITS[@]}" "$REG/test/layers3:1"
check_contains "layers3 output" "$CHECK_OUT" "layers3 says hello"
# The runtime bind-mounts its own /etc/hostname, so look at the image's filesystem instead.
check "podman create + export layers3" bash -c "$(printf '%q ' "${P[@]}") create --name l3 $REG/test/layers3:1 >/dev/null &&
  $(printf '%q ' "${P[@]}") export l3 | tar -t"
check_contains "layers3 filesystem has /etc/motd (app layer)" "$CHECK_OUT" "etc/motd"
check_contains "layers3 filesystem has the random data layer" "$CHECK_OUT" "data/random.bin"
if grep -qx 'etc/hostname' <<<"$CHECK_OUT"; then fail "layers3 whiteout: /etc/hostname still present"
else pass "layers3 whiteout removed /etc/hostname"; fi
check "podman run multiarch: host platform" "${P[@]}" run --rm --network host "${ULIMITS[@]}" "$REG/test/multiarch:1" \
  cat /etc/image-arch
check_eq "multiarch picked $HOST_ARCH" "$CHECK_OUT" "$HOST_ARCH"

# --- tag and push
check "podman tag" "${P[@]}" tag "$REG/test/busybox:1" "$REG/podman/retagged:v1"
check "podman push" "${P[@]}" push -q --tls-verify=false "$REG/podman/retagged:v1"
id=$(run_to "${P[@]}" image inspect --format '{{.Id}}' "$REG/test/busybox:1")
raw=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/podman/retagged:v1")
check_eq "pushed manifest carries the same config (image ID)" "$(jq -r .config.digest <<<"$raw")" "sha256:$id"
check_eq "pushed manifest reuses the same layer" "$(jq -c '[.layers[].digest]' <<<"$raw")" \
  "$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/test/busybox:1" | jq -c '[.layers[].digest]')"
check "podman push layers3 to a new repository" "${P[@]}" push -q --tls-verify=false \
  "$REG/test/layers3:1" "docker://$REG/podman/layers3:copy"
check "podman rmi + pull the pushed image back" bash -c "$(printf '%q ' "${P[@]}") rmi -f $REG/podman/retagged:v1 &&
  $(printf '%q ' "${P[@]}") pull -q --tls-verify=false $REG/podman/retagged:v1"
check "run the re-pulled image" "${P[@]}" run --rm --network host "${ULIMITS[@]}" "$REG/podman/retagged:v1" echo again
check_eq "run output" "$CHECK_OUT" again

# --- search (catalog) and --list-tags
check "podman search $REG/ (catalog)" "${P[@]}" search --tls-verify=false --format '{{.Name}}' "$REG/"
for repo in test/busybox test/layers3 test/multiarch podman/retagged podman/layers3; do
  check_contains "search lists $repo" "$CHECK_OUT" "$REG/$repo"
done
check "podman search busybox (term filters catalog)" "${P[@]}" search --tls-verify=false --format '{{.Name}}' "$REG/busy"
check_eq "search term result" "$CHECK_OUT" "$REG/test/busybox"
check "skopeo adds tag 2" skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REG/test/busybox:1" "docker://$REG/test/busybox:2"
check "podman search --list-tags" "${P[@]}" search --list-tags --tls-verify=false "$REG/test/busybox"
check_eq "list-tags output" "$(awk 'NR > 1 {print $2}' <<<"$CHECK_OUT" | sort | tr '\n' ' ')" "1 2 "

# --- manifest lists
other=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/test/multiarch:1" |
  jq -r --arg a "$OTHER_ARCH" '.manifests[] | select(.platform.architecture == $a) | .digest')
check "podman manifest create" "${P[@]}" manifest create mylist
check "podman manifest add (busybox)" "${P[@]}" manifest add --tls-verify=false mylist "docker://$REG/test/busybox:1"
check "podman manifest add the $OTHER_ARCH image of the index (by digest)" "${P[@]}" manifest add \
  --tls-verify=false mylist "docker://$REG/test/multiarch@$other"
check "podman manifest push --all" "${P[@]}" manifest push --all --tls-verify=false mylist "docker://$REG/podman/list:1"
raw=$(run_to skopeo inspect --raw --tls-verify=false "docker://$REG/podman/list:1")
mt=$(jq -r .mediaType <<<"$raw")
case "$mt" in
  application/vnd.docker.distribution.manifest.list.v2+json | application/vnd.oci.image.index.v1+json)
    pass "pushed list media type ($mt)" ;;
  *) fail "pushed list media type: $mt" ;;
esac
check_eq "pushed list has both manifests" "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$raw")" \
  "$(printf '%s\n' "$(fixture_digest busybox)" "$other" | sort | tr '\n' ' ' | sed 's/ $//')"
for d in $(jq -r '.manifests[].digest' <<<"$raw"); do
  check_eq "list child $d present in podman/list" \
    "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -I \
       -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
       "http://$REG/v2/podman/list/manifests/$d")" 200
done
check "podman manifest inspect of the pushed list" "${P[@]}" manifest inspect "$REG/podman/list:1"
check_contains "manifest inspect shows $OTHER_ARCH" "$CHECK_OUT" "\"$OTHER_ARCH\""
check "pull the pushed list (host platform) and run it" "${P[@]}" run -q --rm --network host "${ULIMITS[@]}" \
  --pull always --tls-verify=false "$REG/podman/list:1" echo from-list
check_eq "run output" "$CHECK_OUT" from-list

finish
