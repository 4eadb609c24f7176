#!/usr/bin/env bash
# Builds and runs the serving benchmark; writes bench/serve/RESULTS.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${ATTUNE_BUILD_DIR:-$top/build}
"$top/scripts/build.sh" --target bench_serve
table=$("$build/bench/serve/bench_serve" --seconds "${SECONDS_PER_CELL:-3}" --clients 1,8)
{
  echo "## Serving: ModelInfer over loopback gRPC vs in-process forward"
  echo
  echo "Command: \`bench/serve/run.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))."
  echo "Client and server share the machine; both sides use one LibTorch intra-op thread per request."
  echo
  echo "$table"
} > "$top/bench/serve/RESULTS.md"
cat "$top/bench/serve/RESULTS.md"
