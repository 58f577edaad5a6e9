#!/usr/bin/env bash
# Configures and builds Berth into build/ (Release with debug info), using ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Two cores: keep peak memory modest while using both.
ninja -C build -j "${BERTH_JOBS:-$(nproc)}"
