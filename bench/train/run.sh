#!/usr/bin/env bash
# Training benchmarks on real Fashion-MNIST; writes bench/train/RESULTS.md, curves.csv and the
# plots. EPOCHS/SEEDS/TRAIN_LIMIT override the defaults (1 epoch of 60,000 images, 3 seeds).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${ATTUNE_BUILD_DIR:-$top/build}
here="$top/bench/train"
"$top/scripts/build.sh" --target bench_train_optimizers bench_trainstream
start=$(date +%s)
# REUSE_CURVES=1 keeps the optimizer curves of an earlier run (curves.csv) and reruns only the
# TrainStream comparison.
reused=""
if [ "${REUSE_CURVES:-0}" = 1 ] && [ -f "$here/curves.csv" ]; then
  reused=" (REUSE_CURVES=1: optimizer curves from the previous full run, $(date -u -r "$here/curves.csv" +%Y-%m-%d))"
else
  "$build/bench/train/bench_train_optimizers" --out "$here/curves.csv" --epochs "${EPOCHS:-1}" \
    --seeds "${SEEDS:-3}" --eval-every "${EVAL_EVERY:-100}" --train-limit "${TRAIN_LIMIT:-60000}"
fi
stream_table=$("$build/bench/train/bench_trainstream" --batches "${STREAM_BATCHES:-200}")
/usr/bin/python3 "$here/report.py" "$here/curves.csv" "$here" > "$here/optimizers.md"
{
  echo "## Training: optimizers on Fashion-MNIST, and TrainStream overhead"
  echo
  echo "Command: \`bench/train/run.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(( $(date +%s) - start )) s)$reused."
  echo "Model: the built-in CNN with BatchNorm (3 conv blocks 16/32/64, 24,170 parameters), batch 64,"
  echo "every optimizer at its official defaults (lr 1e-3; AdamW weight decay 1e-2), the same"
  echo "initial weights and data order per seed. Test accuracy on the 10,000-image test split."
  echo
  cat "$here/optimizers.md"
  echo
  echo "### TrainStream vs the same loop in process (batch 64, CNN, Adam)"
  echo
  echo "Wall-clock rates on a shared 2-core machine swing with the load (the in-process loop runs"
  echo "before and after the gRPC arms and is averaged); CPU time per step (client + server"
  echo "processes for the gRPC arms) is what the service adds regardless of the load."
  echo
  echo "$stream_table"
  echo
  echo "Allocator. Both processes link jemalloc (attune-server does by default, \`ATTUNE_JEMALLOC\`;"
  echo "the benchmark links it too so the in-process loop runs on the same allocator; the loop runs on"
  echo "a worker thread like the server's handler — on the main thread it measured ~25% more CPU per"
  echo "step, which would flatter the service). With glibc's malloc the service measured 0.75×"
  echo "(lock-step, CPU ratio, against the main-thread loop of earlier runs): perf showed a fifth of the"
  echo "server's CPU in the kernel zeroing pages and handling faults, because glibc trimmed the"
  echo "serving thread's arena after every step (its dynamic trim threshold stays at 2× the largest"
  echo "mmapped chunk freed, a few MiB, below a step's working set of tens of MiB) and faulted the"
  echo "memory back in on the next. Fixing glibc's thresholds with mallopt also removed the gap but"
  echo "made adaptation-session churn keep memory (+8% RSS over 1,000 cycles); jemalloc removes the"
  echo "gap with session churn at +0.19% and model load/unload at +0.20% (tests/reliability)."
} > "$here/RESULTS.md"
cat "$here/RESULTS.md"
