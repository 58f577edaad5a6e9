#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs `berth serve` on the embedded default
# (filesystem storage in ./berth-data, listening on :5000). Pass a config.yml to use it instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec build/berth serve "$@"
