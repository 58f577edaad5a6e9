#!/usr/bin/env bash
# The container image as the seeds run registry:2: scripts/image.sh builds it (FROM scratch,
# offline); Debian's dockerd loads it and runs it with the seeds' environment variables (htpasswd
# and TLS from mounted files, root-owned, key 0600), on host networking and loopback; docker
# pushes and pulls through it, the container is replaced on the same volume and the image pulled
# again; the HEALTHCHECK turns healthy; `docker stop` (SIGTERM) exits 0. Then podman loads the same
# archive and runs it (plain HTTP, a bind-mounted root-owned directory), skopeo pushes through it.
# Usage: BERTH_BIN=build/berth image_test.sh   (root; skipped without buildah/docker/podman)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need dockerd docker podman skopeo openssl jq curl python3
ROOT=$LIB_ROOT
: "${BERTH_BIN:?BERTH_BIN}"

# ---------------------------------------------------------------- build
IMG=$T/berth-image.tar
if BERTH_IMAGE_OUT=$IMG run_to 240 bash "$ROOT/scripts/image.sh" >"$T/image.log" 2>&1; then
  pass "scripts/image.sh built the image: $(tail -n 1 "$T/image.log")"
else
  fail "scripts/image.sh failed"; tail -n 30 "$T/image.log" | sed 's/^/    | /'; finish
fi

# ---------------------------------------------------------------- a private dockerd (CLIENTS.md)
start_dockerd
check "docker load the archive" docker load -i "$IMG"
check_contains "it is tagged berth:latest" "$CHECK_OUT" "berth:latest"
cfg=$(run_to 30 docker image inspect berth:latest --format '{{json .Config}}')
check_eq "entrypoint" "$(jq -c .Entrypoint <<<"$cfg")" '["/usr/bin/berth"]'
check_eq "exposes 5000" "$(jq -c '.ExposedPorts | keys' <<<"$cfg")" '["5000/tcp"]'
check_eq "/var/lib/registry is a volume" "$(jq -c '.Volumes | keys' <<<"$cfg")" '["/var/lib/registry"]'
check_contains "has a HEALTHCHECK run by the binary" "$(jq -c .Healthcheck.Test <<<"$cfg")" '"/usr/bin/berth","healthcheck"'
check_contains "OCI labels" "$(jq -c .Labels <<<"$cfg")" '"org.opencontainers.image.version":"0.1.0"'
size=$(run_to 30 docker image inspect berth:latest --format '{{.Size}}')
check "the image is small (${size} bytes, under 40 MB)" test "$size" -lt 40000000
log "image size: $size bytes ($((size / 1024 / 1024)) MiB)"

# ---------------------------------------------------------------- deploy/compose.yml
# The seeds' compose file with image: berth. No compose tool here: parse it, and check that its
# settings pass the image's own config check (the password file made as docs/install.md says).
compose=$(python3 - "$ROOT/deploy/compose.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
r = d["services"]["registry"]
assert r["image"] == "berth", r["image"]
assert "5000:5000" in r["ports"] and "registry-data:/var/lib/registry" in r["volumes"]
assert "./auth:/auth" in r["volumes"] and "registry-data" in d["volumes"]
for k, v in r["environment"].items():
    print(f"{k}={v}")
PY
)
check_contains "deploy/compose.yml: image berth, port 5000, volume registry-data, htpasswd" "$compose" \
  "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd"
envs=()
while IFS= read -r kv; do envs+=(-e "$kv"); done <<<"$compose"
mkdir -p "$T/cauth"
check "the documented htpasswd command works in the image" bash -c "echo testpassword |
  docker run --rm -i --network none --entrypoint /usr/bin/berth -v $T/cauth:/auth berth htpasswd add testuser -f /auth/htpasswd"
check "compose's settings pass berth config check in the image" docker run --rm --network none \
  "${envs[@]}" -v "$T/cauth:/auth" --entrypoint /usr/bin/berth berth config check /etc/docker/registry/config.yml
check_eq "... without warnings ($CHECK_OUT)" "$(grep -c warning <<<"$CHECK_OUT")" 0

# ---------------------------------------------------------------- the seeds' htpasswd + TLS run
build_fixtures "$T/img"
mkdir -p "$T/auth" "$T/certs"
echo testpassword | "$BERTH_BIN" htpasswd add testuser -f "$T/auth/htpasswd" --cost 4 >/dev/null
chmod 0600 "$T/auth/htpasswd"
run_to 60 openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$T/certs/domain.key" -out "$T/certs/domain.crt" 2>/dev/null
chmod 0600 "$T/certs/domain.key"
mkdir -p "$T/ca" && cp "$T/certs/domain.crt" "$T/ca/ca.crt"   # skopeo's --dest-cert-dir

# A port for the registry: the kernel picks a free one (port 0) and the container is told it, since
# the healthcheck and the clients need to know it.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port)
run_registry() { # run_registry NAME: the seeds' htpasswd + TLS settings, volume registry-data
  docker run -d --name "$1" --network host --health-interval 1s --health-start-period 1s \
    -v registry-data:/var/lib/registry -v "$T/auth:/auth" -v "$T/certs:/certs" \
    -e REGISTRY_HTTP_ADDR=127.0.0.1:$P1 \
    -e REGISTRY_AUTH=htpasswd -e "REGISTRY_AUTH_HTPASSWD_REALM=Registry Realm" \
    -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd \
    -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt -e REGISTRY_HTTP_TLS_KEY=/certs/domain.key \
    berth:latest
}
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }
check "docker run with the seeds' htpasswd and TLS variables" run_registry reg1
if wait_for 60 healthy reg1; then pass "the HEALTHCHECK reports healthy"; else
  fail "not healthy: $(docker inspect -f '{{json .State.Health}}' reg1 | head -c 600)"
  docker logs reg1 2>&1 | tail -n 20 | sed 's/^/    | /'
fi
REG=127.0.0.1:$P1
code=$(curl -sS -m 10 --cacert "$T/certs/domain.crt" -o /dev/null -w '%{http_code}' "https://$REG/v2/")
check_eq "TLS with the mounted certificate; no credentials: 401" "$code" 401
code=$(curl -sS -m 10 --cacert "$T/certs/domain.crt" -u testuser:testpassword -o /dev/null -w '%{http_code}' "https://$REG/v2/")
check_eq "with the htpasswd user's credentials: 200" "$code" 200
pid=$(docker inspect -f '{{.State.Pid}}' reg1)
check_eq "the registry runs as the berth user (65532), not root" \
  "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" 65532
check_contains "the log says so" "$(docker logs reg1 2>&1)" "running as berth (uid 65532)"

check "skopeo copy busybox in (TLS, credentials)" skopeo copy -q --dest-creds testuser:testpassword \
  --dest-cert-dir "$T/ca" "oci:$T/img/busybox:1" "docker://$REG/seed/busybox:1"
check "docker login" bash -c "echo testpassword | docker login -u testuser --password-stdin $REG"
check "docker pull through it" docker pull -q "$REG/seed/busybox:1"
check "docker tag + push" bash -c "docker tag $REG/seed/busybox:1 $REG/seed/pushed:2 && docker push -q $REG/seed/pushed:2"
check "the volume holds the registry's layout" test -d "$D/root/volumes/registry-data/_data/docker/registry/v2/repositories/seed"
check_eq "what it stored in the volume belongs to 65532" \
  "$(find "$D/root/volumes/registry-data/_data" ! -user 65532 | head -n 3)" ""

t0=$(date +%s%N)
check "docker stop (SIGTERM)" docker stop -t 20 reg1
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "it exited 0 on SIGTERM (in $ms ms)" "$(docker inspect -f '{{.State.ExitCode}}' reg1)" 0
check "it stopped well before the kill timeout" test "$ms" -lt 15000
check "docker rm it" docker rm reg1

check "docker run a new container on the same volume" run_registry reg2
wait_for 60 healthy reg2 || fail "reg2 not healthy"
check "docker rmi the pulled images" docker rmi "$REG/seed/busybox:1" "$REG/seed/pushed:2"
check "docker pull again after the restart" docker pull -q "$REG/seed/pushed:2"
check "docker run what it pulled" docker run --rm --network host "$REG/seed/pushed:2" echo hi
check_eq "it runs" "$CHECK_OUT" hi
check "docker stop reg2" docker stop -t 20 reg2

# ---------------------------------------------------------------- podman
# DOCKER_CONFIG would be podman's auth file too: podman gets its own settings.
P="env -u DOCKER_CONFIG -u DOCKER_HOST podman --storage-driver vfs --root $T/p/root --runroot $T/p/run --cgroup-manager cgroupfs
   --events-backend file --runtime runc"
on_exit "$P rm -af -t 5"
check "podman load the same archive" $P load -i "$IMG"
mkdir -p "$T/pdata"   # a bind-mounted, root-owned directory, as `-v $(pwd)/data:/var/lib/registry`
P2=$(free_port)
check "podman run (plain HTTP, bind-mounted data)" $P run -d --name preg --network host \
  --ulimit nofile=20000:20000 --ulimit nproc=20000:20000 \
  -v "$T/pdata:/var/lib/registry" -e REGISTRY_HTTP_ADDR=127.0.0.1:$P2 berth:latest
listening() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$P2/v2/"; }
wait_for 30 listening || { fail "podman's berth did not answer"; $P logs preg 2>&1 | tail -n 20; }
check "skopeo push through it" skopeo copy -q --dest-tls-verify=false "oci:$T/img/layers3:1" \
  "docker://127.0.0.1:$P2/p/layers3:1"
check "podman pull through it" $P pull -q --tls-verify=false "127.0.0.1:$P2/p/layers3:1"
check "podman exec healthcheck" $P exec -e REGISTRY_HTTP_ADDR=127.0.0.1:$P2 preg /usr/bin/berth healthcheck
check_eq "the bind-mounted directory was given to 65532" "$(stat -c %u "$T/pdata/docker")" 65532
check "podman stop (SIGTERM)" $P stop -t 20 preg
check_eq "exit code 0" "$($P inspect -f '{{.State.ExitCode}}' preg)" 0

finish
