#!/usr/bin/env bash
# The Debian package: scripts/deb.sh builds it, lintian is quiet on it, and it installs into this
# machine with dpkg -i: `berth version`, `berth config check /etc/berth/config.yml`, the berth
# system user and /var/lib/berth, the unit (sandboxed, enabled), the man page covering every
# command; the packaged config serves as the berth user; dpkg -r / --purge take it away again.
# The machine is left as it was: the package purged, and the user and state directory removed when
# this test created them.
# Usage: BERTH_BIN=build/berth deb_test.sh   (root; skipped without dpkg-deb/lintian)
. "$(dirname "$0")/../lib.sh"
lib_init
need_root
need dpkg-deb dpkg-shlibdeps lintian curl
ROOT=$LIB_ROOT
: "${BERTH_BIN:?BERTH_BIN}"
if dpkg-query -W -f='${Status}' berth 2>/dev/null | grep -q "ok installed"; then
  skip_test "a berth package is already installed here; not touching it"
fi

# ---------------------------------------------------------------- build + lint
if BERTH_DEB_DIR=$T run_to 120 bash "$ROOT/scripts/deb.sh" >"$T/deb.log" 2>&1; then
  pass "scripts/deb.sh: $(tail -n 1 "$T/deb.log")"
else
  fail "scripts/deb.sh failed"; sed 's/^/    | /' "$T/deb.log" | tail -n 20; finish
fi
DEB=$(ls "$T"/berth_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
check "the package is named berth_<version>_<arch>.deb ($DEB)" test -f "$DEB"
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/berth ./etc/berth/config.yml ./lib/systemd/system/berth.service \
  ./usr/share/man/man1/berth.1.gz ./usr/share/doc/berth/copyright; do
  check_contains "it ships $f" "$contents" "$f"
done
check_eq "the config is a conffile" "$(dpkg-deb -f "$DEB" Package; dpkg-deb --ctrl-tarfile "$DEB" |
  tar -xO ./conffiles)" "$(printf 'berth\n/etc/berth/config.yml')"
# (lintian's stderr only says it prefers not to run as root.)
lint=$(run_to 120 lintian "$DEB" 2>"$T/lintian.err"); rc=$?
check_eq "lintian is quiet" "$rc:$lint" "0:"

# ---------------------------------------------------------------- install
had_user=0; id berth >/dev/null 2>&1 && had_user=1
had_state=0; [ -e /var/lib/berth ] && had_state=1
on_exit "dpkg --purge berth; [ $had_user = 1 ] || deluser --system --quiet berth; [ $had_user = 1 ] || delgroup --system --quiet berth; [ $had_state = 1 ] || rm -rf /var/lib/berth"
check "dpkg -i installs it" dpkg -i "$DEB"
check_eq "berth version (from PATH)" "$(run_to 10 /usr/bin/berth version)" "berth $("$BERTH_BIN" version | awk '{print $2}')"
check "berth config check /etc/berth/config.yml" /usr/bin/berth config check /etc/berth/config.yml
check_contains "it is ok, without warnings" "$CHECK_OUT" "/etc/berth/config.yml: ok"
check_eq "no warnings about the shipped config" "$(grep -c warning <<<"$CHECK_OUT")" 0
check_eq "berth is a system user living in /var/lib/berth without a login shell" \
  "$(getent passwd berth | awk -F: '{print ($3 < 1000), $6, $7}')" "1 /var/lib/berth /usr/sbin/nologin"
check_eq "/var/lib/berth belongs to berth, 0750" "$(stat -c '%U:%G %a' /var/lib/berth)" "berth:berth 750"
check_eq "the config is readable by root and berth only" "$(stat -c '%U:%G %a' /etc/berth/config.yml)" "root:berth 640"
check "the berth user can check it too" runuser -u berth -- /usr/bin/berth config check /etc/berth/config.yml
unit=/lib/systemd/system/berth.service
for opt in User=berth ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes \
  CapabilityBoundingSet=CAP_NET_BIND_SERVICE "ExecStart=/usr/bin/berth serve /etc/berth/config.yml"; do
  check "the unit sets $opt" grep -qx "$opt" "$unit"
done
check "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/berth.service
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify accepts the unit" systemd-analyze verify "$unit"
fi
man=$(zcat /usr/share/man/man1/berth.1.gz)
mapfile -t cmds < <(/usr/bin/berth --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
for c in "${cmds[@]}"; do check_contains "the man page documents '$c'" "$man" ".SS \"$c"; done

# The service as systemd runs it (as berth, from the packaged config; port 0 on loopback).
spawn svc runuser -u berth -- env REGISTRY_HTTP_ADDR=127.0.0.1:0 /usr/bin/berth serve /etc/berth/config.yml
if wait_for 20 grep -q "listening on 127.0.0.1:" "$T/svc.log"; then
  SPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/svc.log" | head -n1)
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$SPORT/v2/deb/test/blobs/uploads/")
  check_eq "the packaged config serves, and berth can write /var/lib/berth (upload started)" "$code" 202
else
  fail "the packaged service did not start: $(tail -n 5 "$T/svc.log")"
fi
stop_proc svc

# ---------------------------------------------------------------- remove, purge
check "dpkg -r removes it" dpkg -r berth
check "the binary is gone" test ! -e /usr/bin/berth
check "the config stays until purge" test -f /etc/berth/config.yml
check "dpkg --purge" dpkg --purge berth
check "purge removes the config" test ! -e /etc/berth/config.yml
check "purge removes the unit's enablement" test ! -e /etc/systemd/system/multi-user.target.wants/berth.service

finish
