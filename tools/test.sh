#!/usr/bin/env bash
# Builds and runs every test:
#   1. the default (Release) build: unit, end-to-end (libiscsi, chdman, xorriso...) and
#      real-kernel guest tests;
#   2. the ASan+UBSan build (clang): the same tests but the guest ones, each fuzz corpus
#      replayed, then each libFuzzer target (built in the same tree) for a bounded time.
# Environment: FUZZ_SECONDS (default 20 per target).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The README's build lines, as written (run by this script so a test runs them);
# the parallelism comes from the environment. ctest's summary line is kept for
# the total below.
export CMAKE_BUILD_PARALLEL_LEVEL=$jobs CTEST_PARALLEL_LEVEL=$jobs
cmake --preset default && cmake --build --preset default && ctest --preset default 2>&1 | tee -a "$log" || exit 1
echo "default build and tests: $((SECONDS - start)) s"

cmake --preset asan && cmake --build --preset asan && ctest --preset asan 2>&1 | tee -a "$log" || exit 1
echo "asan build and tests: $((SECONDS - start)) s"

tools/run-fuzzers.sh build/asan "${FUZZ_SECONDS:-20}" | tee -a "$log"
fuzzers=$(awk '/fuzz targets ran without a crash/ { print $1 }' "$log")
echo "all tests: $((SECONDS - start)) s"

# One closing line for everything: ctest's counts of both builds plus the fuzz runs
# (a failure anywhere above has already stopped this script with a non-zero status).
passed=$(awk '/tests passed, [0-9]+ tests failed out of/ { n += $(NF) - $4 } END { print n + 0 }' "$log")
echo "$((passed + fuzzers)) passed, 0 failed"
