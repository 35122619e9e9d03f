#!/usr/bin/env bash
# Builds and runs every test: the default build, the ASan+UBSan build, each
# libFuzzer target for a bounded time, and the guest (real kernel) tests.
# Environment: FUZZ_SECONDS (default 30 per target), UDISC_SKIP_ASAN=1 to skip the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake --preset default
cmake --build --preset default -j"$jobs"
ctest --preset default -j"$jobs"

if [ "${UDISC_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan -j"$jobs"
  ctest --preset asan -j"$jobs"
fi

cmake --preset fuzz
cmake --build --preset fuzz -j"$jobs"
tools/run-fuzzers.sh build/fuzz "${FUZZ_SECONDS:-30}"
