#!/usr/bin/env bash
# Builds and runs every test:
#   1. the default (Release) build: unit, end-to-end (libiscsi, chdman, xorriso...) and
#      real-kernel guest tests;
#   2. the ASan+UBSan build (clang): the same tests but the guest ones, then each libFuzzer
#      target (built in the same tree) for a bounded time.
# Environment: FUZZ_SECONDS (default 20 per target).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS

cmake --preset default
cmake --build --preset default -j"$jobs"
ctest --preset default -j"$jobs"
echo "default build and tests: $((SECONDS - start)) s"

cmake --preset asan
cmake --build --preset asan -j"$jobs"
ctest --preset asan -j"$jobs"
echo "asan build and tests: $((SECONDS - start)) s"

tools/run-fuzzers.sh build/asan "${FUZZ_SECONDS:-20}"
echo "all tests: $((SECONDS - start)) s"
