#!/usr/bin/env bash
# AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer run of the end-to-end suites:
# builds attune-server and the e2e/reliability tests with -DATTUNE_SANITIZE=address,undefined into
# $ATTUNE_ASAN_BUILD_DIR (default <repo>/build-asan), runs them with ctest, and fails when any
# process (the tests or the attune-server processes they start) wrote a sanitizer report. Reports
# go to <build>/sanitizer-reports/<tool>.<pid>; leaks inside LibTorch, protobuf and gRPC are
# suppressed by tests/reliability/sanitizers/lsan.supp (never attune's own code).
#
#   ./scripts/sanitize.sh                 # e2e + reliability suites
#   ./scripts/sanitize.sh -R e2e_bad_input  # extra arguments go to ctest
#   ATTUNE_ASAN_BUILD_DIR=build-fuzz ATTUNE_ASAN_SKIP_BUILD=1 ./scripts/sanitize.sh -R 'e2e_(model|bad)'
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTUNE_ASAN_BUILD_DIR:-$top/build-asan}
supp="$top/tests/reliability/sanitizers"

# ATTUNE_ASAN_SKIP_BUILD=1: the tree in $build is already built with -DATTUNE_SANITIZE=address,...
# (for example the fuzz tree, scripts/fuzz.sh's build-fuzz, with the tests you pass to ctest).
if [ -z "${ATTUNE_ASAN_SKIP_BUILD:-}" ]; then
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTUNE_SANITIZE=address,undefined \
    -DATTUNE_BUILD_BENCH=OFF ${ATTUNE_CMAKE_ARGS:-} >/dev/null
  cmake --build "$build" -j "${ATTUNE_JOBS:-$(nproc)}"
fi
grep -q '^ATTUNE_SANITIZE:STRING=.*address' "$build/CMakeCache.txt" ||
  { echo "sanitize.sh: $build is not an AddressSanitizer build" >&2; exit 2; }

build=$(cd "$build" && pwd)  # absolute: the report paths are used after `cd` and by forked servers
reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
# Inherited by the attune-server processes the tests fork.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:detect_container_overflow=0:symbolize=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=0:suppressions=$supp/ubsan.supp"
cd "$build"
set +e
if [ $# -eq 0 ]; then
  ctest --output-on-failure -j "${ATTUNE_TEST_JOBS:-2}" -L 'e2e|reliability' -E 'python_client_test'
else
  ctest --output-on-failure -j "${ATTUNE_TEST_JOBS:-2}" "$@"
fi
rc=$?
set -e
found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "sanitize.sh: sanitizer reports:"
  for f in $found; do echo "---- $f"; head -n 80 "$f"; done
  exit 1
fi
echo "sanitize.sh: no sanitizer reports (ctest exit $rc)"
exit $rc
