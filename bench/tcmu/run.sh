#!/usr/bin/env bash
# Local-drive read speed, fairly: in ONE guest boot (Debian's kernel under
# QEMU, tests/guest/run.sh) the same ISO is read through our /dev/srN
# (`udisc daemon` with the TCMU backend, `udisc mount`) and through a loop
# device (`losetup`, what Linux users do today for a plain ISO), by the same
# reader (udisc-blockread: O_DIRECT 64 KiB sequential, 2 KiB random at depth 1
# and 32). Also times `udisc mount` to a readable /dev/srN.
#
# usage: bench/tcmu/run.sh BUILD_DIR [SIZE_MB (64)] [ROUNDS (3)] [RANDOM_READS (4000)] [VARIANT...]
#   BUILD_DIR holds src/cli/udisc and the udisc-blockread tool (targets udisc, udisc-blockread).
#   VARIANT "LABEL SCHEDULER UDISC [VAR=VALUE ...]": instead of the mount timing
#   and one drive, compare builds or settings in one boot (guest-ab.sh): each
#   round reads the loop device and then a drive served by the daemon of the
#   binary UDISC (started with those variables) per variant, SCHEDULER ("-":
#   the daemon's choice) written to its queue; ratios per LABEL.
# UDISC_BENCH_LOG=FILE: keep the whole guest console there. UDISC_BENCH_SMP=N: guest CPUs (1).
# UDISC_TCMU_PROFILE=1: the serving thread's profile lines too (src/transport/tcmu/tcmu.cc).
# Prints the BENCH lines of every round, then per metric the udisc/loop ratio of
# each round and their median ("RATIO udisc/loop <metric> <r1> <r2> ... median
# <m>", ratios.awk); with VARIANTs, one such line per variant label.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1"; mb="${2:-64}"; rounds="${3:-3}"; reads="${4:-4000}"
shift $(($# < 4 ? $# : 4))
udisc="$build/src/cli/udisc"
reader="$build/src/transport/tcmu/guest-tests/udisc-blockread"
for f in "$udisc" "$reader"; do [[ -x "$f" ]] || { echo "run.sh: $f is not built" >&2; exit 2; }; done
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-bench-tcmu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
head -c $((mb * 1000000)) /dev/urandom > "$work/tree/big.bin"
xorriso -as mkisofs -quiet -R -o "$work/bench.iso" "$work/tree" 2> /dev/null
guest="${UDISC_BENCH_GUEST:-$here/guest.sh}"; variant_bins=()
if (($#)); then
  guest="$here/guest-ab.sh"; : > "$work/variants"
  for v in "$@"; do
    read -r label sched bin vars <<< "$v"
    cp "$bin" "$work/udisc-$label"; variant_bins+=(--bin "$work/udisc-$label")
    echo "$label $sched udisc-$label $vars" >> "$work/variants"
  done
else
  echo "# no variants" > "$work/variants"
fi
echo "$rounds" > "$work/rounds"; echo "$reads" > "$work/reads"; echo "${UDISC_TCMU_PROFILE:-}" > "$work/profile"
"$here/../../tests/guest/run.sh" --script "$guest" --memory $((1024 + mb * 2)) --no-default-tools \
  --bin "$udisc" --bin "$reader" "${variant_bins[@]}" --file "$work/variants" --file "$work/bench.iso" --file "$work/rounds" --file "$work/reads" --file "$work/profile" \
  --smp "${UDISC_BENCH_SMP:-1}" --timeout 900 ${UDISC_BENCH_LOG:+--log "$UDISC_BENCH_LOG"} | tee "$work/out.txt" | grep -E "^(BENCH|MOUNT|devices|variant|GUEST-RESULT|tcmu profile)"
awk -f "$here/ratios.awk" "$work/out.txt" | sort
