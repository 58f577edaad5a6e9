#!/usr/bin/env bash
# Interop: Berth as a pull-through cache (registry:2's proxy.remoteurl) of Debian's docker-registry
# on loopback, used by real clients as their Docker Hub mirror:
#   dockerd with --registry-mirror (docker pull busybox, a docker.io name, served through Berth);
#   containerd's ctr with a hosts.toml mirror (requests carry ?ns=docker.io);
#   podman with a registries.conf mirror;
#   and the cached image pulls again once the upstream is stopped.
# Usage: BERTH_BIN=build/berth proxy_test.sh   (root)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need dockerd docker ctr containerd runc skopeo jq curl

build_fixtures "$T/img"

# --- the upstream: Debian's docker-registry holding library/busybox:latest
write_config "$T/up/config.yml" "$T/up/data"
start_server distribution upstream "$T/up/config.yml"
UPSTREAM=$REG
check "seed the upstream: skopeo copy busybox -> library/busybox:latest" \
  push_fixture busybox "library/busybox:latest"
BUSYBOX_DIGEST=$(fixture_digest busybox)

# --- Berth mirroring it, registry:2 style
write_config "$T/cfg/config.yml" "$T/data" "proxy:" "  remoteurl: http://$UPSTREAM"
start_server sut mirror "$T/cfg/config.yml"
MIRROR=$REG
MIRROR_LOG=$SERVER_LOG

# --- dockerd with registry-mirrors pointing at Berth (private daemon, no bridge, host network)
start_dockerd --registry-mirror "http://$MIRROR" --insecure-registry "$MIRROR"
CTRD_SOCK=$D/exec/containerd/containerd.sock

check "docker pull busybox (docker.io name, through the mirror)" docker pull -q busybox
check_contains "the image records docker.io's name and the upstream's digest" \
  "$(run_to 60 docker image inspect --format '{{json .RepoDigests}}' busybox)" \
  "busybox@$BUSYBOX_DIGEST"
check "docker run busybox echo hi" docker run --rm --network host busybox echo hi
check_eq "echo hi output" "$CHECK_OUT" hi
# The access log line is written after the response: poll for it (bounded).
if wait_for 10 grep -Eq '(GET|HEAD) /v2/library/busybox/manifests/latest ' "$MIRROR_LOG"; then
  pass "dockerd asked the mirror for library/busybox"
else
  fail "no manifest request for library/busybox in Berth's access log"
  grep -a 'v2/' "$MIRROR_LOG" | tail -n 5 | sed 's/^/    | /'
fi

# --- containerd (ctr) with a hosts.toml mirror: requests carry ?ns=docker.io
mkdir -p "$T/certs.d/docker.io"
cat >"$T/certs.d/docker.io/hosts.toml" <<EOF
server = "https://registry-1.docker.io"

[host."http://$MIRROR"]
  capabilities = ["pull", "resolve"]
EOF
check "ctr pull docker.io/library/busybox:latest via hosts.toml" \
  run_to 120 ctr -a "$CTRD_SOCK" -n proxytest images pull --hosts-dir "$T/certs.d" \
  docker.io/library/busybox:latest
if wait_for 10 grep -Eq '(GET|HEAD) /v2/library/busybox/manifests/latest\?ns=docker.io' "$MIRROR_LOG"; then
  pass "containerd's request carried ?ns=docker.io and was served"
else
  fail "no ?ns=docker.io manifest request in Berth's access log"
  grep -a 'v2/' "$MIRROR_LOG" | tail -n 5 | sed 's/^/    | /'
fi

# --- podman with a registries.conf mirror
if command -v podman >/dev/null; then
  cat >"$T/registries.conf" <<EOF
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "$MIRROR"
insecure = true
EOF
  check "podman pull docker.io/library/busybox via registries.conf mirror" \
    run_to 120 env -u DOCKER_CONFIG -u DOCKER_HOST CONTAINERS_REGISTRIES_CONF="$T/registries.conf" \
    podman --root "$T/podman" \
    --runroot "$T/podman-run" --storage-driver vfs pull -q docker.io/library/busybox:latest
fi

# --- the cache serves with the upstream gone
stop_server upstream
check "docker rmi busybox" docker rmi busybox
check "docker pull busybox with the upstream stopped (served from the cache)" docker pull -q busybox
check "skopeo inspect by digest with the upstream stopped" \
  "${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$MIRROR/library/busybox@$BUSYBOX_DIGEST"
if grep -q 'serving cached library/busybox:latest' "$MIRROR_LOG"; then
  pass "the stale tag was logged"
else
  fail "no 'serving cached' warning in Berth's log"
fi
check_eq "pushing into the mirror is refused (UNSUPPORTED)" \
  "$(curl -sS -m 30 -X POST "http://$MIRROR/v2/library/busybox/blobs/uploads/" | jq -r '.errors[0].code')" \
  UNSUPPORTED
finish
