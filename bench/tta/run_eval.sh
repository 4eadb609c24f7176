#!/bin/sh
# Real-data test-time adaptation evaluation (issue 5): builds tta_eval and the exported models,
# trains the source model (cached in the build tree), and writes the Markdown tables that
# bench/tta/RESULTS.md reproduces.
#
#   bench/tta/run_eval.sh [--build DIR] [tta_eval options: --quick --threads N --per-setting N ...]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-tta
if [ "${1:-}" = "--build" ]; then
  BUILD=$2
  shift 2
fi
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DATTUNE_BUILD_SERVER=OFF >/dev/null
ninja -C "$BUILD" -j2 tta_eval attune_test_models
OUT=$BUILD/bench/tta/tta_eval.md
echo "writing $OUT (progress below)" >&2
"$BUILD/bench/tta/tta_eval" "$@" >"$OUT"
echo "done: $OUT" >&2
