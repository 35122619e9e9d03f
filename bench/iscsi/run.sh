#!/usr/bin/env bash
# Side-by-side benchmark: tgt (--device-type cd) vs udisc serve, same 1 GiB
# ISO, same client (qemu-img bench through QEMU's libiscsi driver).
#
#   bench/iscsi/run.sh [UDISC_BINARY] [ROUNDS]
#
# Workloads: sequential 64 KiB reads at depth 32, 2 KiB reads at depth 32,
# 2 KiB reads at depth 1. Targets run one after the other inside each round
# (interleaved), ROUNDS times (default 5); medians and the per-round ratios
# are reported. Also prints the machine's limits: qemu-img bench on the
# image file itself and iperf3 over loopback (if installed).
# Environment: BENCH_DIR (default /tmp/udisc-iscsi-bench), TGT_PORT (31400), UDISC_PORT (31401).
# BASELINE_UDISC=PATH: the baseline is `PATH serve` instead of tgt (on TGT_PORT),
# e.g. the Linux udisc against udisc.exe under Wine (bench/windows/run.sh);
# BASELINE_LABEL and UDISC_LABEL name the two columns.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
udisc=${1:-$here/../../build/default/src/cli/udisc}
rounds=${2:-5}
dir=${BENCH_DIR:-/tmp/udisc-iscsi-bench}
tgt_port=${TGT_PORT:-31400}
udisc_port=${UDISC_PORT:-31401}
iqn_tgt=iqn.2025-01.org.udisc:bench-tgt
iqn_udisc=iqn.2025-01.org.udisc:bench-udisc
mkdir -p "$dir"
[ -x "$udisc" ] || { echo "udisc binary not found: $udisc" >&2; exit 2; }
baseline_udisc=${BASELINE_UDISC:-}
base_label=${BASELINE_LABEL:-tgt}
udisc_label=${UDISC_LABEL:-udisc}
[ -n "$baseline_udisc" ] || command -v tgtd >/dev/null || { echo "tgt is not installed" >&2; exit 2; }

image=$dir/bench.iso
if [ ! -s "$image" ]; then
  echo "creating a 1 GiB ISO in $dir ..." >&2
  mkdir -p "$dir/tree"
  head -c $((1024 * 1024 * 1024 - 2 * 1024 * 1024)) /dev/urandom > "$dir/tree/payload.bin"
  xorriso -as mkisofs -quiet -R -J -o "$image" "$dir/tree" 2>/dev/null
  rm -rf "$dir/tree"
fi
cat "$image" > /dev/null  # page cache

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# start_udisc BINARY PORT IQN LOG: `udisc serve` in the background, waits until it listens.
start_udisc() {
  "$1" serve --listen 127.0.0.1:$2 --iqn "$3" "$image" > "$dir/$4.out" 2> "$dir/$4.log" &
  pids+=($!)
  for _ in $(seq 300); do grep -q "Serving until" "$dir/$4.out" 2>/dev/null && break; sleep 0.1; done
}

if [ -n "$baseline_udisc" ]; then
  start_udisc "$baseline_udisc" "$tgt_port" "$iqn_tgt" baseline
  url_tgt=iscsi://127.0.0.1:$tgt_port/$iqn_tgt/0
else
  # tgt: its own control port so a system tgtd is not disturbed.
  tgtd -f -C 7 --iscsi portal=127.0.0.1:$tgt_port > "$dir/tgtd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do tgtadm -C 7 --lld iscsi --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
  tgtadm -C 7 --lld iscsi --op new --mode target --tid 1 -T $iqn_tgt
  tgtadm -C 7 --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$image" --device-type cd
  tgtadm -C 7 --lld iscsi --op bind --mode target --tid 1 -I ALL
  url_tgt=iscsi://127.0.0.1:$tgt_port/$iqn_tgt/1
fi
start_udisc "$udisc" "$udisc_port" "$iqn_udisc" udisc

url_udisc=iscsi://127.0.0.1:$udisc_port/$iqn_udisc/0

# bench URL SIZE DEPTH COUNT [qemu-img options] -> seconds
bench() {
  local out
  out=$(qemu-img bench -f raw "${@:5}" -c "$4" -d "$3" -s "$2" -S "$2" "$1" 2>&1) || { echo "$out" >&2; return 1; }
  sed -n 's/.*Run completed in \([0-9.]*\) seconds.*/\1/p' <<< "$out"
}

declare -A results
workloads=("65536 32 16000" "2048 32 200000" "2048 1 40000")
names=("64k_d32" "2k_d32" "2k_d1")
for r in $(seq "$rounds"); do
  for t in tgt udisc; do
    url=$url_tgt; [ $t = udisc ] && url=$url_udisc
    for i in 0 1 2; do
      read -r size depth count <<< "${workloads[$i]}"
      s=$(bench "$url" "$size" "$depth" "$count" -t none -n)
      results[$t,${names[$i]},$r]=$s
      echo "round $r $t ${names[$i]}: $count x $size B at depth $depth in $s s" >&2
    done
  done
done

# Limits of the machine: the page-cached file itself (no iSCSI, no TCP).
file_64k=$(bench "$image" 65536 32 16000 -t writeback)
file_2k=$(bench "$image" 2048 32 200000 -t writeback)
iperf="not installed"
if command -v iperf3 >/dev/null; then
  iperf3 -s -1 -p 31402 >/dev/null 2>&1 &
  sleep 0.5
  iperf=$(iperf3 -c 127.0.0.1 -p 31402 -t 5 -f g 2>/dev/null | awk '/receiver/ {print $7, $8}')
fi

python3 - "$rounds" "$file_64k" "$file_2k" "$iperf" "$base_label" "$udisc_label" <<PY
import statistics, sys
rounds = int(sys.argv[1]); file_64k = float(sys.argv[2]); file_2k = float(sys.argv[3]); iperf = sys.argv[4]
base_label, udisc_label = sys.argv[5], sys.argv[6]
raw = """$(for k in "${!results[@]}"; do echo "$k ${results[$k]}"; done)"""
res = {}
for line in raw.strip().splitlines():
    key, secs = line.split()
    t, w, r = key.split(',')
    res[(t, w, int(r))] = float(secs)
def metric(w, secs):
    if w == '64k_d32': return 16000 * 65536 / secs / 1e9      # GB/s
    if w == '2k_d32': return 200000 / secs / 1e3               # kIOPS
    return secs / 40000 * 1e6                                  # us per op
unit = {'64k_d32': 'GB/s', '2k_d32': 'k IOPS', '2k_d1': 'us latency'}
goal = {'64k_d32': '>= 1.3', '2k_d32': '>= 1.5', '2k_d1': '<= 0.8'}
if base_label != 'tgt': goal = {w: 'none' for w in goal}  # the goals are against tgt
print(f"| workload | {base_label} (median) | {udisc_label} (median) | {udisc_label}/{base_label} per round | median ratio | goal |")
print("| --- | --- | --- | --- | --- | --- |")
for w in ('64k_d32', '2k_d32', '2k_d1'):
    t = [metric(w, res[('tgt', w, r)]) for r in range(1, rounds + 1)]
    u = [metric(w, res[('udisc', w, r)]) for r in range(1, rounds + 1)]
    ratios = [b / a for a, b in zip(t, u)]
    print(f"| {w} | {statistics.median(t):.2f} {unit[w]} | {statistics.median(u):.2f} {unit[w]} | "
          f"{', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} | {goal[w]} |")
print()
print(f"Machine limits: qemu-img bench on the page-cached file: 64 KiB d32 {16000*65536/file_64k/1e9:.2f} GB/s, "
      f"2 KiB d32 {200000/file_2k/1e3:.0f} k IOPS; iperf3 over loopback: {iperf}.")
PY
