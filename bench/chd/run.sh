#!/usr/bin/env bash
# CHD against the same disc as BIN/CUE through iSCSI, what an initiator sees
# (issue 10): one `udisc serve` with the BIN/CUE as LUN 0 and its `chdman
# createcd` CHD as LUN 1, the same client for both (qemu-img bench through
# QEMU's libiscsi driver, as bench/iscsi and bench/remote use it).
#
#   bench/chd/run.sh [UDISC_BINARY] [ROUNDS]
#
# The disc (made once in BENCH_DIR): an ISO of text files (compressible, as
# file systems are; 100 MB), written as a MODE1/2352 BIN/CUE by
# `udisc convert` and converted by `chdman createcd` with its default codecs
# (cdlz, cdzl, cdfl; 8-frame hunks). Both files are read once first (page
# cache), so the BIN/CUE LUN reads from memory.
# Workloads per round, BIN/CUE LUN then CHD LUN:
#   seq64k_d32  64 KiB reads of the whole disc in order, 32 in flight
#   seq64k_d1   the same, one at a time
#   rand2k_d1   4000 reads of 2 KiB one at a time, 7919 sectors apart (modulo
#               the disc's size, so all over the disc: nearly every read is
#               a hunk not decompressed before)
# Medians of ROUNDS (default 3) and ratios CHD / BIN are printed.
# Then the whole CHD decoded by the reference decoder and by ours, one after
# the other per round: `chdman extractcd` against `udisc convert` of the CHD
# to BIN/CUE (both write the raw 2352-byte sectors to BENCH_DIR/out); their
# BINs must be identical, and the ratio is chdman's time / ours.
# Environment: BENCH_DIR (default /tmp/udisc-chd-bench), PORT (31430).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
udisc=${1:-$here/../../build/default/src/cli/udisc}
rounds=${2:-3}
dir=${BENCH_DIR:-/tmp/udisc-chd-bench}
port=${PORT:-31430}

mkdir -p "$dir"
[ -x "$udisc" ] || { echo "udisc binary not found: $udisc" >&2; exit 2; }
command -v chdman > /dev/null || { echo "chdman not found (Debian package mame-tools)" >&2; exit 2; }
WORK=$dir
source "$here/../../tests/iscsi/lib.sh"
UDISC=$udisc

if [ ! -s "$dir/disc.chd" ]; then
  echo "creating a 100 MB text disc as BIN/CUE and CHD in $dir ..." >&2
  rm -rf "$dir/tree" && mkdir -p "$dir/tree"
  awk -v d="$dir/tree" 'BEGIN {
    for (f = 0; f < 100; f++) {
      out = sprintf("%s/file%03d.txt", d, f)
      for (l = 0; l < 36000; l++) printf "file %d line %d data %d\n", f, l, (l * 7) % 997 > out
      close(out)
    }
  }'
  xorriso -as mkisofs -quiet -R -J -o "$dir/disc.iso" "$dir/tree" 2>/dev/null
  rm -rf "$dir/tree"
  "$udisc" convert "$dir/disc.iso" -o "$dir/disc.cue" > /dev/null
  rm -f "$dir/disc.iso"
  timeout 900 chdman createcd -f -i "$dir/disc.cue" -o "$dir/disc.chd" > /dev/null 2>&1
fi
bin=$(sed -n 's/^FILE "\(.*\)" BINARY.*/\1/p' "$dir/disc.cue" | head -1)
cat "$dir/$bin" "$dir/disc.chd" > /dev/null  # page cache: both LUNs read from memory
sectors=$(($(stat -c %s "$dir/$bin") / 2352))

start_serve "$port" "$dir/disc.cue" "$dir/disc.chd"
lun() { echo "iscsi://127.0.0.1:$port/$IQN/$1"; }

# bench URL SIZE DEPTH COUNT STEP -> seconds
bench() {
  local out
  out=$(qemu-img bench -f raw -t none -n -c "$4" -d "$3" -s "$2" -S "$5" "$1" 2>&1) || { echo "$out" >&2; exit 1; }
  sed -n 's/.*Run completed in \([0-9.]*\) seconds.*/\1/p' <<< "$out"
}

seq_count=$((sectors * 2048 / 65536))
declare -A t
for r in $(seq "$rounds"); do
  for l in 0 1; do
    t[$l,seq64k_d32,$r]=$(bench "$(lun $l)" 65536 32 "$seq_count" 65536)
    t[$l,seq64k_d1,$r]=$(bench "$(lun $l)" 65536 1 "$seq_count" 65536)
    t[$l,rand2k_d1,$r]=$(bench "$(lun $l)" 2048 1 4000 $((2048 * 7919)))
    echo "round $r LUN $l: seq64k_d32 ${t[$l,seq64k_d32,$r]} s, seq64k_d1 ${t[$l,seq64k_d1,$r]} s," \
         "rand2k_d1 ${t[$l,rand2k_d1,$r]} s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "disc: $sectors sectors (MODE1/2352), BIN $(stat -c %s "$dir/$bin") bytes, CHD $(stat -c %s "$dir/disc.chd") bytes"
printf '%-11s %12s %12s %9s\n' workload BIN/CUE CHD "CHD/BIN"
for w in seq64k_d32 seq64k_d1 rand2k_d1; do
  b=$(for r in $(seq "$rounds"); do echo "${t[0,$w,$r]}"; done | median)
  c=$(for r in $(seq "$rounds"); do echo "${t[1,$w,$r]}"; done | median)
  case $w in
    rand2k_d1) fb=$(awk -v s="$b" 'BEGIN { printf "%.0f IOPS", 4000 / s }'); fc=$(awk -v s="$c" 'BEGIN { printf "%.0f IOPS", 4000 / s }') ;;
    *) bytes=$((seq_count * 65536))
       fb=$(awk -v n=$bytes -v s="$b" 'BEGIN { printf "%.0f MB/s", n / s / 1e6 }')
       fc=$(awk -v n=$bytes -v s="$c" 'BEGIN { printf "%.0f MB/s", n / s / 1e6 }') ;;
  esac
  printf '%-11s %12s %12s %9.2f\n' "$w" "$fb" "$fc" "$(awk -v b="$b" -v c="$c" 'BEGIN { print b / c }')"
done
stop_serve

# The reference decoder against ours, the whole disc each (wall seconds).
mkdir -p "$dir/out"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }
for r in $(seq "$rounds"); do
  rm -f "$dir/out"/*
  t[ref,$r]=$(secs chdman extractcd -f -i "$dir/disc.chd" -o "$dir/out/ref.cue" -ob "$dir/out/ref.bin")
  t[ours,$r]=$(secs "$udisc" convert "$dir/disc.chd" -o "$dir/out/ours.cue")
  ours_bin=$(sed -n 's/^FILE "\(.*\)" BINARY.*/\1/p' "$dir/out/ours.cue" | head -1)
  cmp -s "$dir/out/ref.bin" "$dir/out/$ours_bin" || { echo "udisc convert's BIN differs from chdman extractcd's" >&2; exit 1; }
  echo "round $r: chdman extractcd ${t[ref,$r]} s, udisc convert ${t[ours,$r]} s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done
rm -rf "$dir/out"
ref=$(for r in $(seq "$rounds"); do echo "${t[ref,$r]}"; done | median)
ours=$(for r in $(seq "$rounds"); do echo "${t[ours,$r]}"; done | median)
printf 'whole CHD to BIN: chdman extractcd %.2f s, udisc convert %.2f s, chdman/udisc %.2f (BINs identical)\n' "$ref" "$ours" \
  "$(awk -v a="$ref" -v b="$ours" 'BEGIN { print a / b }')"
