#!/usr/bin/env bash
# Builds bench_optim, runs it at 1 and 2 intra-op threads and writes bench/optim/RESULTS.md
# (ms/step, ratio to the memory-traffic bound from the triad measured in the same run, and
# bandwidth per byte against torch::optim::Adam) from bench/optim/results.json, the raw output.
#   bench/optim/run.sh                 # 15 short repetitions (>= 0.1 s each): medians and minimums
#   REPS=3 BUILD_DIR=/tmp/b bench/optim/run.sh --benchmark_filter=Adan
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$top/build-optim}
reps=${REPS:-15}
min_time=${MIN_TIME:-0.1}

cmake -S "$top" -B "$build" -G Ninja -DATTUNE_BUILD_SERVER=OFF >/dev/null
ninja -C "$build" -j2 bench_optim

out="$here/results.json"  # raw Google Benchmark output, kept next to RESULTS.md
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$build/bench/optim/bench_optim" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json "$@"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 "$here/results.py" "$out" \
  --command "REPS=$reps MIN_TIME=$min_time bench/optim/run.sh${*:+ $*}" \
  --load "$load_before" "$load_after" > "$here/RESULTS.md"
echo "wrote $here/RESULTS.md"
