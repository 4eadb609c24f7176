#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, end-to-end against live servers, Prometheus,
# clients). Extra arguments go to ctest, e.g. `./scripts/test.sh -L unit` or `-R e2e_models`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
build=${ATTUNE_BUILD_DIR:-$top/build}
cd "$build"
ctest --output-on-failure -j "${ATTUNE_TEST_JOBS:-2}" "$@"
