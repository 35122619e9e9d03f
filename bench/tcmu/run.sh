#!/usr/bin/env bash
# Local-drive read speed, fairly: in ONE guest boot (Debian's kernel under
# QEMU, tests/guest/run.sh) the same ISO is read through our /dev/srN
# (`udisc daemon` with the TCMU backend, `udisc mount`) and through a loop
# device (`losetup`, what Linux users do today for a plain ISO), by the same
# reader (udisc-blockread: O_DIRECT 64 KiB sequential, 2 KiB random at depth 1
# and 32). Also times `udisc mount` to a readable /dev/srN.
#
# usage: bench/tcmu/run.sh BUILD_DIR [SIZE_MB (64)] [ROUNDS (3)] [RANDOM_READS (4000)]
#   BUILD_DIR holds src/cli/udisc and the udisc-blockread tool (targets udisc, udisc-blockread).
# UDISC_BENCH_LOG=FILE: keep the whole guest console there. UDISC_BENCH_SMP=N: guest CPUs (1).
# UDISC_TCMU_PROFILE=1: the serving thread's profile lines too (src/transport/tcmu/tcmu.cc).
# Prints the BENCH lines of every round, then per metric the udisc/loop ratio of
# each round and their median ("RATIO <metric> <r1> <r2> ... median <m>").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1"; mb="${2:-64}"; rounds="${3:-3}"; reads="${4:-4000}"
udisc="$build/src/cli/udisc"
reader="$build/src/transport/tcmu/guest-tests/udisc-blockread"
for f in "$udisc" "$reader"; do [[ -x "$f" ]] || { echo "run.sh: $f is not built" >&2; exit 2; }; done
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-bench-tcmu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
head -c $((mb * 1000000)) /dev/urandom > "$work/tree/big.bin"
xorriso -as mkisofs -quiet -R -o "$work/bench.iso" "$work/tree" 2> /dev/null
echo "$rounds" > "$work/rounds"; echo "$reads" > "$work/reads"; echo "${UDISC_TCMU_PROFILE:-}" > "$work/profile"
"$here/../../tests/guest/run.sh" --script "${UDISC_BENCH_GUEST:-$here/guest.sh}" --memory $((1024 + mb * 2)) --no-default-tools \
  --bin "$udisc" --bin "$reader" --file "$work/bench.iso" --file "$work/rounds" --file "$work/reads" --file "$work/profile" \
  --smp "${UDISC_BENCH_SMP:-1}" --timeout 900 ${UDISC_BENCH_LOG:+--log "$UDISC_BENCH_LOG"} | tee "$work/out.txt" | grep -E "^(BENCH|MOUNT|devices|GUEST-RESULT|tcmu profile)"
awk '/^BENCH/ && $2 != "pingpong" { split($2, w, "-"); v[w[1] " " $3 " " w[2]] = $4; n = w[2] > n ? w[2] : n }
  END {
    split("seq-64k rand-2k-qd1 rand-2k-qd32", m, " ")
    for (i = 1; i <= 3; ++i) {
      line = ""; k = 0
      for (r = 1; r <= n; ++r) if (v["loop " m[i] " " r] > 0) { x[++k] = v["udisc " m[i] " " r] / v["loop " m[i] " " r]; line = line sprintf(" %.2f", x[k]) }
      for (a = 1; a <= k; ++a) for (b = a + 1; b <= k; ++b) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
      if (k) printf "RATIO %s udisc/loop%s median %.2f\n", m[i], line, (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
    }
  }' "$work/out.txt"
