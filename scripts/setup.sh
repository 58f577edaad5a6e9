#!/usr/bin/env bash
# Installs everything Berth needs to build, test and benchmark on Debian 12 (run as root).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libssl-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libsqlite3-dev libpq-dev libcrypt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  curl ca-certificates python3 jq
)
# Peers and clients used by the test suites (compatibility, interop).
TEST_PKGS=(docker-registry skopeo umoci podman buildah runc docker.io containerd lintian postgresql prometheus)
# The benchmark suite (bench/run.sh): the peer, load generator, nginx ceiling (its http_dav_module serves
# the WebDAV PUT ceiling), and perf for profiling a server under load.
BENCH_PKGS=(docker-registry wrk nginx-light linux-perf)

want=()
for p in "${BUILD_PKGS[@]}" "${@:-}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
done
if [ "${BERTH_SETUP_TEST:-0}" = 1 ]; then
  for p in "${TEST_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
fi
if [ "${BERTH_SETUP_BENCH:-0}" = 1 ]; then
  for p in "${BENCH_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
fi
if [ ${#want[@]} -gt 0 ]; then
  echo "setup: installing ${want[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
# Distribution's package ships a service; we never want it running on its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
echo "setup: ok"
