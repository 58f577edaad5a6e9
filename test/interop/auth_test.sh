#!/usr/bin/env bash
# Security with real clients: htpasswd (bcrypt, made by `berth htpasswd add`) over TLS with skopeo and
# podman login/push/pull; token auth with Berth's built-in token service and an RBAC policy (roles with
# repository globs, anonymous pull of public repositories), and the refusals that must not change
# anything. Usage: BERTH_BIN=build/berth auth_test.sh
. "$(dirname "$0")/../lib.sh"
lib_init
need skopeo podman curl jq openssl
[ "$BERTH_TEST_SERVER" = berth ] || skip_test "Berth-only features"

build_fixtures "$T/img"
P=(podman --storage-driver vfs --root "$T/p/root" --runroot "$T/p/run" --cgroup-manager cgroupfs
   --events-backend file --runtime runc)
export REGISTRY_AUTH_FILE=$T/podman-auth.json
echo '{}' > "$REGISTRY_AUTH_FILE"
# jwt_claims TOKEN: the JSON payload of a JWT (base64url, padding restored).
jwt_claims() {
  local p; p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
  while [ $(( ${#p} % 4 )) != 0 ]; do p="$p="; done
  printf '%s' "$p" | base64 -d 2>/dev/null
}
users() { for u in "$@"; do echo "pw-$u" | "$BERTH_BIN" htpasswd add "$u" -f "$T/htpasswd" >/dev/null; done; }
users alice bob carol

# ---------------------------------------------------------------- htpasswd over TLS
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$T/tls.key" \
  -out "$T/tls.crt" -addext subjectAltName=IP:127.0.0.1 2>/dev/null
HTTP_EXTRA=$(printf '  tls:\n    certificate: %s\n    key: %s' "$T/tls.crt" "$T/tls.key") \
  write_config "$T/cfg/basic.yml" "$T/data-basic" \
  "auth:" "  htpasswd:" "    realm: Registry Realm" "    path: $T/htpasswd"
start_server sut basic "$T/cfg/basic.yml"
C=(curl -sS -m 30 --cacert "$T/tls.crt")
hdr=$("${C[@]}" -D - -o "$T/body" "https://$REG/v2/" | tr -d '\r')
check_contains "no credentials: 401" "$hdr" "HTTP/1.1 401"
check_contains "Basic challenge with the realm" "$hdr" 'WWW-Authenticate: Basic realm="Registry Realm"'
check_eq "OCI UNAUTHORIZED body" "$(jq -r '.errors[0].code' "$T/body")" UNAUTHORIZED
check_eq "right password: 200" "$("${C[@]}" -o /dev/null -w '%{http_code}' -u alice:pw-alice "https://$REG/v2/")" 200
check_eq "wrong password: 401" "$("${C[@]}" -o /dev/null -w '%{http_code}' -u alice:nope "https://$REG/v2/")" 401
check "skopeo login" run_to "${SKOPEO[@]}" login --tls-verify=false --authfile "$T/sk.json" -u alice -p pw-alice "$REG"
check "skopeo push with credentials over TLS" push_fixture busybox team/app:1 --dest-creds alice:pw-alice
DENIED_RE='unauthorized|denied|insufficient_scope|\b40[13]\b'
refused "push without credentials refused (401)" "$DENIED_RE" push_fixture busybox team/app:2
check_eq "the refused push changed nothing" \
  "$("${C[@]}" -u alice:pw-alice "https://$REG/v2/team/app/tags/list" | jq -c .tags)" '["1"]'
check_eq "search with credentials lists the repository" \
  "$("${C[@]}" -u alice:pw-alice "https://$REG/v1/search?q=team" | jq -c '[.results[].name]')" '["team/app"]'
check_eq "search without credentials: 401" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://$REG/v1/search?q=team")" 401
check "podman login --password-stdin" sh -c "echo pw-bob | ${P[*]} login --tls-verify=false -u bob --password-stdin $REG"
check "podman pull after login" run_to "${P[@]}" pull -q --tls-verify=false "$REG/team/app:1"
stop_server basic

# ---------------------------------------------------------------- built-in token service
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/signing.pem" 2>/dev/null
cat > "$T/policy.json" <<'JSON'
{"roles": {"admin": [{"repositories": "*", "actions": ["pull", "push", "delete"]}],
           "developer": [{"repositories": "app/*", "actions": ["pull", "push"]},
                         {"repositories": "library/*", "actions": ["pull", "push"]}],
           "readonly": [{"repositories": "*", "actions": ["pull"]}]},
 "users": {"alice": ["admin"], "bob": ["developer"], "carol": ["readonly"]},
 "public": ["library/*"], "catalog": ["admin"]}
JSON
write_config "$T/cfg/token.yml" "$T/data-token" \
  "auth:" "  token:" "    realm: /auth/token" "    service: berth" "    issuer: berth-test" \
  "    builtin:" "      signingkey: $T/signing.pem" "      htpasswd: $T/htpasswd" \
  "      policy: $T/policy.json"
start_server sut token "$T/cfg/token.yml"
hdr=$(curl -sS -m 30 -D - -o /dev/null "http://$REG/v2/app/web/tags/list" | tr -d '\r')
check_contains "Bearer challenge with an absolute realm and the scope" "$hdr" \
  "WWW-Authenticate: Bearer realm=\"http://$REG/auth/token\",service=\"berth\",scope=\"repository:app/web:pull\""
check "developer pushes to app/*" push_fixture busybox app/web:1 --dest-creds bob:pw-bob
check "developer pushes to library/*" push_fixture busybox library/base:1 --dest-creds bob:pw-bob
refused "developer refused outside its globs" "$DENIED_RE" \
  push_fixture busybox system/core:1 --dest-creds bob:pw-bob
refused "readonly user refused push" "$DENIED_RE" push_fixture busybox app/web:2 --dest-creds carol:pw-carol
check "readonly user pulls" run_to "${SKOPEO[@]}" inspect --tls-verify=false --creds carol:pw-carol "docker://$REG/app/web:1"
check "anonymous pull of a public repository" run_to "${SKOPEO[@]}" inspect --tls-verify=false "docker://$REG/library/base:1"
refused "anonymous refused on a private repository" "$DENIED_RE" \
  "${SKOPEO[@]}" inspect --tls-verify=false "docker://$REG/app/web:1"
tok=$(curl -sS -m 30 -u carol:pw-carol "http://$REG/auth/token?service=berth&scope=repository:app/web:pull,push,delete" | jq -r .token)
claims=$(jwt_claims "$tok")
check_eq "token carries only what the policy grants" "$(echo "$claims" | jq -cS '.access')" \
  '[{"actions":["pull"],"name":"app/web","type":"repository"}]'
D=$(curl -sS -m 30 -H "Authorization: Bearer $tok" -D - -o /dev/null \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/app/web/manifests/1" |
    tr -d '\r' | sed -n 's/^Docker-Content-Digest: //p')
check "pull-only token reads the manifest" test -n "$D"
hdr=$(curl -sS -m 30 -X DELETE -H "Authorization: Bearer $tok" -D - -o /dev/null \
      "http://$REG/v2/app/web/manifests/$D" | tr -d '\r')
check_contains "pull-only token cannot DELETE" "$hdr" "HTTP/1.1 401"
check_contains "insufficient_scope in the challenge" "$hdr" 'error="insufficient_scope"'
check_eq "manifest still there" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
  "http://$REG/v2/app/web/manifests/$D")" 200
# One bit flipped in the middle of the decoded signature: still valid base64url of the right length,
# so only the signature check can refuse it (changing the last character may only break the decoding).
bad=$(python3 - "$tok" <<'PY'
import base64, sys
header, payload, sig = sys.argv[1].split(".")
raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
raw[len(raw) // 2] ^= 0x01
print(header + "." + payload + "." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())
PY
)
check "the forged token differs only in its signature" test "${bad%.*}" = "${tok%.*}" -a "$bad" != "$tok"
check_eq "forged signature: 401" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bad" \
  "http://$REG/v2/app/web/tags/list")" 401
check_eq "token for app/web does not open app/other" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $tok" "http://$REG/v2/app/other/tags/list")" 401
check_eq "escaping names are refused: app/../system/core" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' \
  -u bob:pw-bob "http://$REG/auth/token?service=berth&scope=repository:app/../system/core:push")" 400
lib_tok=$(curl -sS -m 30 "http://$REG/auth/token?service=berth&scope=repository:library/base:pull" | jq -r .token)
check_eq "search lists only what the caller's token may pull" \
  "$(curl -sS -m 30 -H "Authorization: Bearer $lib_tok" "http://$REG/v1/search?q=" | jq -c '[.results[].name]')" \
  '["library/base"]'
check "podman login against the token service" sh -c "echo pw-bob | ${P[*]} login --tls-verify=false -u bob --password-stdin $REG"
check "podman pull with a token" run_to "${P[@]}" pull -q --tls-verify=false "$REG/app/web:1"
check "podman push with a token" run_to "${P[@]}" push -q --tls-verify=false "$REG/app/web:1" "$REG/app/web:podman"
check_eq "catalog needs its own scope (admin gets it)" \
  "$(jwt_claims "$(curl -sS -m 30 -u alice:pw-alice \
       "http://$REG/auth/token?service=berth&scope=registry:catalog:*" | jq -r .token)" |
     jq -c '.access[0].actions')" '["*"]'
finish
