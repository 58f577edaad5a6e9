#!/usr/bin/env bash
# Tenancy with the Docker engine (Debian's dockerd, private, host networking on loopback) and the
# admin API: a robot created through POST /api/v1/robots logs in with `docker login`, pushes into
# its scope and pulls back, cannot push outside it and stops working once revoked through the API;
# a user of organisation acme cannot pull globex's private image; a repository made public
# through the API pulls anonymously, a private one does not; the API's audit trail shows it all.
# Usage: BERTH_BIN=build/berth tenancy_docker_test.sh   (root)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need dockerd docker skopeo curl jq openssl
[ "$BERTH_TEST_SERVER" = berth ] || skip_test "Berth-only features"

build_fixtures "$T/img"
# The built-in token service taking users from the store: anonymous callers get tokens for public
# repositories, which is how docker pulls without logging in (with Basic auth, docker refuses to
# go on without credentials once /v2/ has challenged it).
write_tenancy_config "$T/cfg/config.yml"
check "berth user add root --admin" sh -c "echo pw-root | $BERTH_BIN user add root --admin -c $T/cfg/config.yml"
check "berth user add alice" sh -c "echo pw-alice | $BERTH_BIN user add alice -c $T/cfg/config.yml"
check "berth user add bob" sh -c "echo pw-bob | $BERTH_BIN user add bob -c $T/cfg/config.yml"
start_server sut reg "$T/cfg/config.yml"

# The rest of the set-up through the admin API, as root.
api() {  # METHOD PATH [JSON]: the body in $API_BODY, the status in $API_STATUS
  local args=(-sS -m 30 -u root:pw-root -X "$1" -H 'Content-Type: application/json'
              -o "$T/api.out" -w '%{http_code}')
  [ -n "${3:-}" ] && args+=(--data "$3")
  API_STATUS=$(curl "${args[@]}" "http://$REG/api/v1/$2")
  API_BODY=$(cat "$T/api.out")
}
for call in "POST orgs {\"name\":\"acme\"}" "POST orgs {\"name\":\"globex\"}" \
            "POST orgs/acme/teams {\"name\":\"dev\"}" "PUT orgs/acme/teams/dev/members/alice" \
            "PUT grants {\"subject\":\"acme/dev\",\"role\":\"write\",\"target\":\"acme\"}" \
            "PUT grants {\"subject\":\"bob\",\"role\":\"delete\",\"target\":\"globex\"}"; do
  read -r m p body <<<"$call"
  api "$m" "$p" "$body"
  check_eq "admin API: $m /api/v1/$p" "$API_STATUS" "$( [ "$m" = POST ] && echo 201 || { [ "$p" = grants ] && echo 200 || echo 204; })"
done

check "bob pushes globex/secret (skopeo)" push_fixture busybox globex/secret:1 --dest-creds bob:pw-bob
check "bob pushes globex/tools (skopeo)" push_fixture busybox globex/tools:1 --dest-creds bob:pw-bob
api PUT repositories/globex/tools/visibility '{"visibility":"public"}'
check_eq "admin API: globex/tools is public" "$API_STATUS" 200
api POST robots '{"name":"ci","scopes":["acme/*:pull,push"],"expires":"1d"}'
robot=$API_BODY
check_eq "admin API: robot created" "$API_STATUS" 201
RT=$(jq -r .token <<<"$robot")
check_eq "the robot's username" "$(jq -r .username <<<"$robot")" ci

start_dockerd
DENIED_RE='unauthorized|denied|authentication required|no basic auth credentials|pull access denied|insufficient_scope'

# Anonymous: the public repository pulls, the private one does not.
check "anonymous docker pull of public globex/tools" docker pull -q "$REG/globex/tools:1"
refused "anonymous docker pull of private globex/secret" "$DENIED_RE" docker pull -q "$REG/globex/secret:1"

# The robot: docker login, push into its scope, pull back, nothing outside it.
check "docker login as the robot" sh -c "printf '%s' '$RT' | docker login -u ci --password-stdin $REG"
check "docker tag into acme" docker tag "$REG/globex/tools:1" "$REG/acme/app:1"
check "the robot pushes acme/app" docker push -q "$REG/acme/app:1"
check "docker rmi acme/app" docker rmi "$REG/acme/app:1"
check "the robot pulls acme/app back" docker pull -q "$REG/acme/app:1"
check "docker tag into globex" docker tag "$REG/globex/tools:1" "$REG/globex/evil:1"
refused "the robot cannot push into globex" "$DENIED_RE" docker push -q "$REG/globex/evil:1"
refused "the robot cannot pull globex/secret" "$DENIED_RE" docker pull -q "$REG/globex/secret:1"

# A user of acme cannot pull globex's private image, but pulls acme's.
check "docker logout" docker logout "$REG"
check "docker login as alice" sh -c "echo pw-alice | docker login -u alice --password-stdin $REG"
refused "alice (acme) cannot pull globex/secret" "$DENIED_RE" docker pull -q "$REG/globex/secret:1"
check "docker rmi acme/app" docker rmi "$REG/acme/app:1"
check "alice pulls acme/app" docker pull -q "$REG/acme/app:1"
check "docker logout alice" docker logout "$REG"

# Revoked through the API: the robot's next login fails.
api DELETE robots/ci
check_eq "admin API: robot revoked" "$API_STATUS" 204
refused "the revoked robot cannot docker login" "$DENIED_RE" \
  sh -c "printf '%s' '$RT' | docker login -u ci --password-stdin $REG"

# A non-admin is refused by the admin API; the audit trail names what root did.
check_eq "alice may not list users" \
  "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -u alice:pw-alice "http://$REG/api/v1/users")" 403
api GET "audit?limit=20"
audit=$API_BODY
check_eq "the audit trail has the robot's revocation by root" \
  "$(jq -r '.entries[] | select(.action=="robot.revoke") | .actor' <<<"$audit")" root
check_eq "and its creation" "$(jq -r '.entries[] | select(.action=="robot.add") | .target' <<<"$audit")" ci
finish
