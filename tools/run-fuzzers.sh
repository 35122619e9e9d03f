#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, starting
# from its seed corpus (fuzz/corpus/<target>) if there is one. A crash fails.
set -euo pipefail
build=${1:?build dir}; seconds=${2:-30}
src=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
count=0
for f in "$build"/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  work=$(mktemp -d)
  seeds=()
  [ -d "$src/fuzz/corpus/$name" ] && seeds+=("$src/fuzz/corpus/$name")
  echo "fuzzing $name for ${seconds}s"
  (cd "$work" && "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "${seeds[@]}" 2>&1 | tail -5)
  rm -rf "$work"
  count=$((count + 1))
done
echo "$count fuzz targets ran without a crash"
