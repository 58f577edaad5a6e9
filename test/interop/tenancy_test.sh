#!/usr/bin/env bash
# Tenancy with real clients (berth.meta, the built-in token service taking users from the store):
# isolation between organisations (pull, push, tags, catalog, search, mount), anonymous pull of a
# public repository, a robot token revoked with `berth robot revoke` failing on its next request,
# and the pull rate-limit headers. The store is managed with the `berth` CLI while the server runs,
# and its changes reach the berth.audit file the server writes too.
# Usage: BERTH_BIN=build/berth tenancy_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo podman curl jq openssl
[ "$BERTH_TEST_SERVER" = berth ] || skip_test "Berth-only features"

build_fixtures "$T/img"
write_tenancy_config "$T/cfg/config.yml" "  ratelimit:" "    pulls: 50" "    window: 1h" \
  "  audit:" "    enabled: true" "    path: $T/audit.log"
B() { env -u REGISTRY_AUTH_FILE "$BERTH_BIN" "$@" -c "$T/cfg/config.yml"; }
check "berth user add alice" sh -c "echo pw-alice | $BERTH_BIN user add alice -c $T/cfg/config.yml"
check "berth user add bob" sh -c "echo pw-bob | $BERTH_BIN user add bob -c $T/cfg/config.yml"
check "org and team setup" sh -c "$BERTH_BIN org add acme -c $T/cfg/config.yml && \
  $BERTH_BIN org add globex -c $T/cfg/config.yml && \
  $BERTH_BIN team add acme dev -c $T/cfg/config.yml && \
  $BERTH_BIN team member acme dev alice -c $T/cfg/config.yml && \
  $BERTH_BIN grant acme/dev write acme -c $T/cfg/config.yml && \
  $BERTH_BIN grant bob delete globex -c $T/cfg/config.yml"
start_server sut reg "$T/cfg/config.yml"

P=(podman --storage-driver vfs --root "$T/p/root" --runroot "$T/p/run" --cgroup-manager cgroupfs
   --events-backend file --runtime runc)
export REGISTRY_AUTH_FILE=$T/podman-auth.json
echo '{}' > "$REGISTRY_AUTH_FILE"
DENIED_RE='unauthorized|denied|insufficient_scope|\b40[13]\b|authentication required'

check "alice pushes acme/app (skopeo)" push_fixture busybox acme/app:1 --dest-creds alice:pw-alice
check "bob pushes globex/secret (skopeo)" push_fixture busybox globex/secret:1 --dest-creds bob:pw-bob
check "bob pushes another image to globex/other" push_fixture multiarch globex/other:1 --all --dest-creds bob:pw-bob

refused "alice cannot pull globex/secret" "$DENIED_RE" \
  "${SKOPEO[@]}" inspect --raw --tls-verify=false --creds alice:pw-alice "docker://$REG/globex/secret:1"
refused "alice cannot list globex's tags" "$DENIED_RE" \
  "${SKOPEO[@]}" list-tags --tls-verify=false --creds alice:pw-alice "docker://$REG/globex/secret"
refused "alice cannot push into globex" "$DENIED_RE" \
  push_fixture busybox globex/secret:2 --dest-creds alice:pw-alice
check "alice copies her own image to acme/copy" "${SKOPEO[@]}" copy -q --src-tls-verify=false \
  --dest-tls-verify=false --src-creds alice:pw-alice --dest-creds alice:pw-alice \
  "docker://$REG/acme/app:1" "docker://$REG/acme/copy:1"
check "podman login as alice" sh -c "echo pw-alice | ${P[*]} login --tls-verify=false -u alice --password-stdin $REG"
check "podman pulls acme/app as alice" run_to "${P[@]}" pull -q --tls-verify=false "$REG/acme/app:1"
refused "podman cannot pull globex/secret as alice" "$DENIED_RE" \
  "${P[@]}" pull -q --tls-verify=false "$REG/globex/secret:1"
# A token for alice with the catalog scope: the catalog and search show acme only.
tok() { curl -sS -m 30 -u "$1" "http://$REG/auth/token?service=berth&scope=$2" | jq -r .token; }
AT=$(tok alice:pw-alice registry:catalog:*)
check_eq "alice's catalog lists acme only" \
  "$(curl -sS -m 30 -H "Authorization: Bearer $AT" "http://$REG/v2/_catalog" | jq -c .repositories)" \
  '["acme/app","acme/copy"]'
check_eq "alice's search finds no globex repository" \
  "$(curl -sS -m 30 -H "Authorization: Bearer $AT" "http://$REG/v1/search?q=globex" | jq -c .num_results)" 0
# Mount from globex into acme: not mounted (202, a new upload session).
layer=$(run_to "${SKOPEO[@]}" inspect --raw --tls-verify=false --creds bob:pw-bob "docker://$REG/globex/secret:1" | jq -r '.layers[0].digest')
MT=$(tok alice:pw-alice "repository:acme/app:pull,push&scope=repository:globex/secret:pull")
check_eq "alice cannot mount globex's layer" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $MT" \
     "http://$REG/v2/acme/app/blobs/uploads/?mount=$layer&from=globex/secret")" 202

# Public repositories pull anonymously.
refused "anonymous pull of private globex/other refused" "$DENIED_RE" \
  "${SKOPEO[@]}" inspect --raw --tls-verify=false --no-creds "docker://$REG/globex/other:1"
check "berth repo set-visibility globex/other public" B repo set-visibility globex/other public
check "anonymous skopeo copy of the public repository" "${SKOPEO[@]}" copy -q --all --src-tls-verify=false \
  --src-no-creds "docker://$REG/globex/other:1" "oci:$T/anon:1"
refused "anonymous push to the public repository refused" "$DENIED_RE" \
  push_fixture busybox globex/other:2 --dest-no-creds

# Robot tokens: work, then fail on the next request after revocation.
out=$(B robot add ci --scope 'acme/*:pull' --expires 1d)
RT=$(sed -n 's/^token: //p' <<<"$out")
check_eq "robot add prints the username" "$(sed -n 's/^username: //p' <<<"$out")" ci
check "the robot pulls acme/app" "${SKOPEO[@]}" inspect --raw --tls-verify=false --creds "ci:$RT" "docker://$REG/acme/app:1"
refused "the robot cannot push" "$DENIED_RE" push_fixture busybox acme/app:9 --dest-creds "ci:$RT"
CT=$(tok "ci:$RT" repository:acme/app:pull)
check_eq "the robot's bearer token works" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $CT" "http://$REG/v2/acme/app/manifests/1")" 200
check "berth robot revoke ci" B robot revoke ci
check_eq "the robot's token fails on its next request" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $CT" "http://$REG/v2/acme/app/manifests/1")" 401
refused "the revoked robot cannot log in again" "$DENIED_RE" \
  "${SKOPEO[@]}" inspect --raw --tls-verify=false --creds "ci:$RT" "docker://$REG/acme/app:1"

# Rate-limit headers on manifest GETs.
PT=$(tok alice:pw-alice repository:acme/app:pull)
hdr=$(curl -sS -m 30 -D - -o /dev/null -H "Authorization: Bearer $PT" \
  -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$REG/v2/acme/app/manifests/1" | tr -d '\r')
check_contains "ratelimit-limit header" "$hdr" "ratelimit-limit: 50;w=3600"
check_contains "ratelimit-remaining header" "$hdr" "ratelimit-remaining: "
check "the audit trail names the revocation" sh -c "$BERTH_BIN audit -c $T/cfg/config.yml | grep -q 'robot.revoke'"
check_contains "the CLI's revocation is in berth.audit too (the server writes the same file)" \
  "$(grep '"action":"robot.revoke"' "$T/audit.log")" '"target":"ci"'
check_contains "and the server's pulls beside it" "$(cat "$T/audit.log")" '"action":"pull"'
finish
