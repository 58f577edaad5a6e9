#!/usr/bin/env bash
# README command 2: installs dependencies (with the test peers), builds, and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_SETUP_TEST=1 bash scripts/setup.sh
bash scripts/build.sh
cd build
# Two parallel jobs suit the 2-core CI machine; every test has its own timeout.
ctest --output-on-failure -j "${BERTH_TEST_JOBS:-2}" --timeout 600 "$@"
