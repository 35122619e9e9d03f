#!/usr/bin/env bash
# Side-by-side benchmark: the same 1 GiB ISO served by one `udisc serve` as
# LUN 0 from its file and as LUN 1 from a URL on a local nginx (Debian),
# same client (qemu-img bench through QEMU's libiscsi driver).
#
#   bench/remote/run.sh [UDISC_BINARY] [ROUNDS]
#
# Workloads per round, file LUN then URL LUN:
#   seq64k   sequential 64 KiB reads of the whole image at depth 32 (the URL's
#            read-ahead warms up within the first MiB; the image is larger than
#            the 64 MiB cache, so every round fetches it again)
#   stride2k 2 KiB reads at depth 1, each in a block of its own (step 258 KiB),
#            4000 reads (1 GiB): every read is a cache miss — the network's
#            round trip per read
#   hot2k    the same strided pattern over 240 blocks (15 MiB) twice: the
#            second pass is answered from the cache; its hit rate comes from
#            the statistics udisc serve logs on SIGUSR1
# Medians of ROUNDS (default 3) and ratios URL / file are printed.
# Environment: BENCH_DIR (default /tmp/udisc-remote-bench), PORT (31420), WEB_PORT (31421).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
udisc=${1:-$here/../../build/default/src/cli/udisc}
rounds=${2:-3}
dir=${BENCH_DIR:-/tmp/udisc-remote-bench}
port=${PORT:-31420}
web_port=${WEB_PORT:-31421}

mkdir -p "$dir"
[ -x "$udisc" ] || { echo "udisc binary not found: $udisc" >&2; exit 2; }
WORK=$dir
source "$here/../../tests/iscsi/lib.sh"
UDISC=$udisc

image=$dir/www/bench.iso
if [ ! -s "$image" ]; then
  echo "creating a 1 GiB ISO in $dir ..." >&2
  mkdir -p "$dir/tree" "$dir/www"
  head -c $((1024 * 1024 * 1024 - 2 * 1024 * 1024)) /dev/urandom > "$dir/tree/payload.bin"
  xorriso -as mkisofs -quiet -R -J -o "$image" "$dir/tree" 2>/dev/null
  rm -rf "$dir/tree"
fi
cat "$image" > /dev/null  # page cache: both sides read from memory

start_nginx "$dir/www" "$web_port"
start_serve "$port" "$image" "http://127.0.0.1:$web_port/bench.iso"
lun() { echo "iscsi://127.0.0.1:$port/$IQN/$1"; }

# bench URL SIZE DEPTH COUNT STEP [qemu-img options] -> seconds
bench() {
  local out
  out=$(qemu-img bench -f raw -t none -n -c "$4" -d "$3" -s "$2" -S "$5" "${@:6}" "$1" 2>&1) || { echo "$out" >&2; exit 1; }
  sed -n 's/.*Run completed in \([0-9.]*\) seconds.*/\1/p' <<< "$out"
}
stats() {  # the URL LUN's cache counters, as udisc serve logs them on SIGUSR1
  kill -USR1 "$SERVE_PID"; sleep 0.3
  grep "LUN 1: .*cache" "$WORK/serve.log" | tail -1 | sed -n 's/.*cache \([0-9]*\) hits, \([0-9]*\) misses.*/\1 \2/p'
}

declare -A t
for r in $(seq "$rounds"); do
  for l in 0 1; do
    t[$l,seq64k,$r]=$(bench "$(lun $l)" 65536 32 16352 65536)
    t[$l,stride2k,$r]=$(bench "$(lun $l)" 2048 1 4000 264192)
    # hot2k: a fresh region each round (offset by the round), read twice.
    off=$((r * 240 * 264192))
    t[$l,hot2k_cold,$r]=$(bench "$(lun $l)" 2048 1 240 264192 -o $off)
    read -r h0 m0 <<< "$(stats)"
    t[$l,hot2k,$r]=$(bench "$(lun $l)" 2048 1 240 264192 -o $off)
    read -r h1 m1 <<< "$(stats)"
    [ "$l" = 1 ] && t[hit,$r]=$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN { printf "%.1f", 100 * h / (h + m) }')
    echo "round $r LUN $l: seq64k ${t[$l,seq64k,$r]} s, stride2k ${t[$l,stride2k,$r]} s, hot2k ${t[$l,hot2k_cold,$r]} / ${t[$l,hot2k,$r]} s" >&2
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-10s %12s %12s %8s\n' workload file URL "URL/file"
for w in seq64k stride2k hot2k_cold hot2k; do
  f=$(for r in $(seq "$rounds"); do echo "${t[0,$w,$r]}"; done | median)
  u=$(for r in $(seq "$rounds"); do echo "${t[1,$w,$r]}"; done | median)
  case $w in
    seq64k) bytes=$((16352 * 65536)); fb=$(awk -v b=$bytes -v s=$f 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')
            ub=$(awk -v b=$bytes -v s=$u 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }') ;;
    stride2k) fb=$(awk -v s=$f 'BEGIN { printf "%.0f IOPS", 4000 / s }'); ub=$(awk -v s=$u 'BEGIN { printf "%.0f IOPS", 4000 / s }') ;;
    *) fb=$(awk -v s=$f 'BEGIN { printf "%.0f IOPS", 240 / s }'); ub=$(awk -v s=$u 'BEGIN { printf "%.0f IOPS", 240 / s }') ;;
  esac
  # Throughput ratio URL / file (time file / time URL).
  printf '%-10s %12s %12s %8.2f\n' "$w" "$fb" "$ub" "$(awk -v f=$f -v u=$u 'BEGIN { print f / u }')"
done
echo "hot2k second pass, URL LUN cache hit rate per round: $(for r in $(seq "$rounds"); do printf '%s%% ' "${t[hit,$r]}"; done)"
kill -USR1 "$SERVE_PID"; sleep 0.3; grep "LUN 1: .*cache" "$WORK/serve.log" | tail -1
stop_serve
stop_nginx
