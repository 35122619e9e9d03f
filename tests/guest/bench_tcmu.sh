#!/usr/bin/env bash
# Read speed of a TCMU drive (our transport + engine) against QEMU's own
# emulated scsi-cd over the same image, in the same guest boot.
# usage: bench_tcmu.sh PATH/TO/udisc-tcmu-tool [SIZE_MB (default 48)]
# Prints "BENCH <node> sequential-64k <MB/s>" and "BENCH <node> random-2k <IOPS>"
# for both drives (two rounds) and the ratios of the second round.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tool="$1"; mb="${2:-48}"
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
head -c $((mb * 1000000)) /dev/urandom > "$work/tree/big.bin"
xorriso -as mkisofs -quiet -R -o "$work/bench.iso" "$work/tree" 2>/dev/null
cat > "$work/guest.sh" <<'GUEST'
udisc-tcmu-tool serve udisc_bench /data/bench.iso > /tmp/b.log 2>&1 &
for i in $(seq 300); do grep -q NODE /tmp/b.log && break; sleep 0.05; done
tnode=$(sed -n 's/^NODE //p' /tmp/b.log)
qnode=""
for n in /sys/block/sr*; do case "$(cat $n/device/vendor)" in QEMU*) qnode=/dev/${n##*/} ;; esac; done
echo "tcmu=$tnode qemu-scsi-cd=$qnode"
[ -n "$tnode" ] && [ -n "$qnode" ] || exit 1
for r in 1 2; do
  udisc-tcmu-tool readbench "$tnode" 2000 | sed 's/^BENCH [^ ]*/BENCH tcmu/'
  udisc-tcmu-tool readbench "$qnode" 2000 | sed 's/^BENCH [^ ]*/BENCH scsi-cd/'
done
GUEST
mem=$((1024 + mb * 2))
"$here/run.sh" --script "$work/guest.sh" --memory "$mem" --bin "$tool" --file "$work/bench.iso" \
  --no-default-tools --timeout 600 -- \
  -device virtio-scsi-pci,id=vs0 \
  -drive if=none,id=ref,file="$work/bench.iso",format=raw,readonly=on -device scsi-cd,bus=vs0.0,drive=ref \
  | tee "$work/out.txt" | grep -E "^BENCH|tcmu=|GUEST-RESULT"
awk '/^BENCH/ {v[$2" "$3]=$4} END {
  if (v["scsi-cd sequential-64k"] > 0) printf "RATIO sequential tcmu/scsi-cd %.2f\n", v["tcmu sequential-64k"]/v["scsi-cd sequential-64k"];
  if (v["scsi-cd random-2k"] > 0) printf "RATIO random-2k tcmu/scsi-cd %.2f\n", v["tcmu random-2k"]/v["scsi-cd random-2k"] }' "$work/out.txt"
