#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into $ATTUNE_FUZZ_BUILD_DIR (default <repo>/build-fuzz) and runs
# each for $ATTUNE_FUZZ_RUNS executions (default 1,000,000), starting from the committed seed
# corpus (tests/fuzz/corpus/<target>, read only; new inputs go to <build>/fuzz-work/<target>).
# A crash, a sanitizer report or a leak stops the target, leaves the input in
# <build>/fuzz-work/<target>/artifacts/ and makes the script exit 1. Prints one summary line per
# target (executions, seconds, exec/s, corpus size, crashes).
#
#   ./scripts/fuzz.sh                      # every target, 1M executions each
#   ATTUNE_FUZZ_RUNS=20000 ./scripts/fuzz.sh fuzz_tensor
#   ATTUNE_FUZZ_SKIP_BUILD=1 ./scripts/fuzz.sh fuzz_tensor   # already built: run only
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTUNE_FUZZ_BUILD_DIR:-$top/build-fuzz}
runs=${ATTUNE_FUZZ_RUNS:-1000000}
targets=${*:-fuzz_tensor fuzz_model_config fuzz_job_spec fuzz_observations}

if [ -z "${ATTUNE_FUZZ_SKIP_BUILD:-}" ]; then  # set it to run targets already built
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTUNE_FUZZ=ON \
    -DATTUNE_SANITIZE=address,undefined -DATTUNE_BUILD_BENCH=OFF ${ATTUNE_CMAKE_ARGS:-} >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build" -j "${ATTUNE_JOBS:-$(nproc)}" --target $targets
fi

supp="$top/tests/reliability/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:detect_container_overflow=0:abort_on_error=1:symbolize=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
export OMP_NUM_THREADS=1

status=0
summary=()
for t in $targets; do
  bin=$(find "$build" -name "$t" -type f -perm -u+x | head -n1)
  [ -n "$bin" ] || { echo "fuzz.sh: $t was not built" >&2; exit 1; }
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  echo "== $t: $runs executions"
  start=$(date +%s)
  set +e
  "$bin" -runs="$runs" -max_len=65536 -timeout=20 -rss_limit_mb=6144 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$top/tests/fuzz/corpus/$t" >"$work/log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
  corpus=$(find "$work/corpus" -type f | wc -l)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  line="$t: ${execs:-0} executions in ${secs} s (${speed:-0} exec/s), corpus $corpus new inputs, crashes $crashes, exit $rc"
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    tail -n 60 "$work/log"
  fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status
