#!/usr/bin/env bash
# Data-parallel scaling of attune's c10d/Gloo training step on this machine: steps/s at 1 and 2
# ranks (one LibTorch thread per rank, each rank a process), the all-reduce share of the step,
# the all-reduce cost per parameter, and a paper estimate for larger clusters. Writes
# bench/distributed/results.jsonl and bench/distributed/RESULTS.md.
#   bench/distributed/run.sh            (STEPS, WARMUP, REPEATS override 200, 30, 3)
# The CNN: the built-in BatchNorm CNN (24,170 parameters), Adam, Fashion-MNIST's first 12,800
# training images (/usr/share/datasets/fashion-mnist or $ATTUNE_FASHION_MNIST).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${ATTUNE_BUILD_DIR:-$top/build}
here="$top/bench/distributed"
# SKIP_BUILD=1 uses an existing build (e.g. after building it under a lock of its own).
[[ "${SKIP_BUILD:-0}" == 1 ]] || "$top/scripts/build.sh" --target bench_distributed
bin="$build/bench/distributed/bench_distributed"
steps=${STEPS:-200} warmup=${WARMUP:-30} repeats=${REPEATS:-3}
cores=$(nproc)  # before OMP_NUM_THREADS=1, which nproc honours
export OMP_NUM_THREADS=1
out="$here/results.jsonl"
: > "$out"
start=$(date +%s)
# Repeats interleave the configurations, so slow phases of a shared machine hit all of them.
for r in $(seq "$repeats"); do
  for cfg in "1 64" "2 64" "1 32" "2 128"; do
    set -- $cfg
    "$bin" --world "$1" --batch "$2" --steps "$steps" --warmup "$warmup" >> "$out"
  done
done
"$bin" --allreduce --world 2 --reps 50 >> "$out"
# The 5-minute load average at the end says how busy the machine was meanwhile.
load=$(cut -d' ' -f2 /proc/loadavg)
/usr/bin/python3 "$here/report.py" "$out" "$cores" "$(( $(date +%s) - start ))" "$load" > "$here/RESULTS.md"
cat "$here/RESULTS.md"
