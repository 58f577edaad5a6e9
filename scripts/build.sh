#!/usr/bin/env bash
# Configures and builds Berth into build/ (Release with debug info), using ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Relative paths in the cache key, so a fresh clone elsewhere (as CI makes) reuses earlier objects.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Two cores: keep peak memory modest while using both.
ninja -C build -j "${BERTH_JOBS:-$(nproc)}"
