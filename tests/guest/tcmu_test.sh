#!/usr/bin/env bash
# Host side of the TCMU end-to-end guest test: makes an ISO with xorriso,
# boots the guest kernel with udisc-tcmu-tool and runs tcmu_guest.sh.
# usage: tcmu_test.sh PATH/TO/udisc-tcmu-tool [run.sh options...]
# Exit 77 (skipped) when QEMU or busybox-static is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tool="$1"; shift
for t in qemu-system-x86_64 xorriso cpio; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[[ -x /bin/busybox ]] || { echo "SKIP: busybox-static not installed"; exit 77; }
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-tcmu-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree/sub/deeper"
head -c 3000000 /dev/urandom > "$work/tree/big.bin"
head -c 70001 /dev/urandom > "$work/tree/sub/odd.bin"
echo "hello from the guest test" > "$work/tree/hello.txt"
for i in $(seq 40); do head -c $((i * 997)) /dev/urandom > "$work/tree/sub/deeper/f$i"; done
xorriso -as mkisofs -quiet -R -J -V UDISC_TCMU -o "$work/test.iso" "$work/tree" 2>/dev/null
(cd "$work/tree" && find . -type f | sort | xargs sha256sum) > "$work/sums"
exec "$here/run.sh" --script "$here/tcmu_guest.sh" --bin "$tool" \
  --file "$work/test.iso" --file "$work/sums" --timeout 300 "$@"
