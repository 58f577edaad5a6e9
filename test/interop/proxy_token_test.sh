#!/usr/bin/env bash
# Interop: Berth as a pull-through cache of Debian's docker-registry configured with token auth
# (auth.token, rootcertbundle) whose tokens come from Berth's built-in token service. The mirror
# follows the upstream's Bearer challenge with credentials (proxy.username/password) and pulls
# through; then 20 clients pull the image at once from a cold mirror and the upstream's own access
# log shows each blob fetched exactly once.
# Usage: BERTH_BIN=build/berth proxy_token_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo curl jq openssl
[ "$BERTH_TEST_SERVER" = berth ] || skip_test "Berth-only features"

build_fixtures "$T/img"

# --- the token issuer: a Berth with its built-in token service (EC key, and its certificate for
# Distribution's rootcertbundle)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/signing.pem" 2>/dev/null
openssl req -x509 -new -key "$T/signing.pem" -subj /CN=berth-token -days 2 -out "$T/signing.crt" \
  2>/dev/null
echo pw-alice | "$BERTH_BIN" htpasswd add alice -f "$T/htpasswd" >/dev/null
cat >"$T/policy.json" <<'JSON'
{"roles": {"admin": [{"repositories": "*", "actions": ["pull", "push", "delete"]}]},
 "users": {"alice": ["admin"]}}
JSON
write_config "$T/iss/config.yml" "$T/iss/data" \
  "auth:" "  token:" "    realm: /auth/token" "    service: upstream" "    issuer: berth-issuer" \
  "    builtin:" "      signingkey: $T/signing.pem" "      htpasswd: $T/htpasswd" \
  "      policy: $T/policy.json"
start_server berth issuer "$T/iss/config.yml"
ISSUER=$REG

# --- the upstream: Debian's docker-registry trusting the issuer's tokens
write_config "$T/up/config.yml" "$T/up/data" \
  "auth:" "  token:" "    realm: http://$ISSUER/auth/token" "    service: upstream" \
  "    issuer: berth-issuer" "    rootcertbundle: $T/signing.crt"
start_server distribution upstream "$T/up/config.yml"
UPSTREAM=$REG
UPSTREAM_LOG=$SERVER_LOG
check_contains "the upstream challenges for a token" \
  "$(curl -sS -m 30 -D - -o /dev/null "http://$UPSTREAM/v2/" | tr -d '\r')" \
  "Bearer realm=\"http://$ISSUER/auth/token\""
check "seed the upstream with a token (skopeo as alice)" \
  push_fixture busybox "library/busybox:latest" --dest-creds alice:pw-alice
BUSYBOX_DIGEST=$(fixture_digest busybox)

# --- a mirror with alice's credentials pulls through
mirror() { # mirror NAME: starts a fresh mirror of the upstream; sets MIRROR
  write_config "$T/$1/config.yml" "$T/$1/data" "proxy:" "  remoteurl: http://$UPSTREAM" \
    "  username: alice" "  password: pw-alice"
  start_server sut "$1" "$T/$1/config.yml"
  MIRROR=$REG
}
mirror m1
check "skopeo copies library/busybox through the mirror (anonymous to Berth)" \
  run_to "${SKOPEO[@]}" copy -q --src-tls-verify=false \
  "docker://$MIRROR/library/busybox:latest" "oci:$T/pulled:1"
check_eq "the mirror answers with the upstream's digest" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code} ' -D - \
     -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
     -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
     -H 'Accept: application/vnd.oci.image.index.v1+json' \
     -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
     "http://$MIRROR/v2/library/busybox/manifests/latest" | tr -d '\r' |
     sed -n 's/^Docker-Content-Digest: //p')" "$BUSYBOX_DIGEST"
stop_server m1

# --- 20 clients pull one cold image at once: each blob leaves the upstream once
mirror m2
manifest=$(curl -sS -m 30 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$UPSTREAM/v2/library/busybox/manifests/latest" \
  -H "Authorization: Bearer $(curl -sS -m 30 -u alice:pw-alice \
     "http://$ISSUER/auth/token?service=upstream&scope=repository:library/busybox:pull" | jq -r .token)")
mapfile -t BLOBS < <(echo "$manifest" | jq -r '.config.digest, .layers[].digest')
check "the image has blobs" test "${#BLOBS[@]}" -ge 2
# The manifest first (one client), so the 20 start on the blobs together.
check "the mirror resolves the tag" curl -fsS -m 60 -o /dev/null \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$MIRROR/v2/library/busybox/manifests/latest"
log_from=$(($(stat -c %s "$UPSTREAM_LOG") + 1))  # count only what the 20 clients caused
pids=()
for i in $(seq 1 20); do
  (
    for b in "${BLOBS[@]}"; do
      got=$(curl -fsS -m 120 "http://$MIRROR/v2/library/busybox/blobs/$b" | sha256_of)
      [ "$got" = "$b" ] || { echo "client $i: $b arrived as $got"; exit 1; }
    done
  ) >"$T/client.$i.out" 2>&1 &
  pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "20 concurrent clients got every blob intact" "$bad" 0
for b in "${BLOBS[@]}"; do
  # Distribution logs one "response completed" line per request, with its method, URI and status.
  n=$(tail -c +"$log_from" "$UPSTREAM_LOG" | grep -a 'response completed' |
      grep -a 'http.request.method=GET' |
      grep -a "blobs/$b\"" | grep -ac 'http.response.status=200' || true)
  check_eq "blob ${b:0:19}… fetched from the upstream once" "$n" 1
done
finish
