#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, starting
# from its seed corpus (fuzz/corpus/<target>) if there is one. A crash fails.
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd); seconds=${2:-30}
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
  mkdir "$work/corpus"
  if ! (cd "$work" && "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
          "$work/corpus" "${seeds[@]}" > "$work/log" 2>&1); then
    tail -60 "$work/log"
    echo "FAILED: $name found a crash (reproducer kept in $work)"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/log" | sed "s/^/  /"
  rm -rf "$work"
  count=$((count + 1))
done
echo "$count fuzz targets ran without a crash"
