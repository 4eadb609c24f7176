#!/usr/bin/env bash
# Configures and builds attune (Release) into $ATTUNE_BUILD_DIR (default: <repo>/build).
# Extra arguments are passed to `cmake --build` (e.g. `--target attune-server`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTUNE_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${ATTUNE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${ATTUNE_JOBS:-$(nproc)}" "$@"
