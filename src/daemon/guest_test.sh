#!/usr/bin/env bash
# Host side of the daemon's real-kernel checks: makes a two-file BIN/CUE
# (an ISO9660 data track and a random audio track), boots the guest kernel
# with the udisc binary (tests/guest/run.sh) and runs guest_checks.sh; the
# data track is also served by nginx for the guest's `udisc mount URL`.
# usage: guest_test.sh PATH/TO/udisc [run.sh options...]
# Exit 77 (skipped) when QEMU, xorriso or busybox-static is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
udisc="$1"; shift
for t in qemu-system-x86_64 xorriso cpio; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[[ -x /bin/busybox ]] || { echo "SKIP: busybox-static not installed"; exit 77; }
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-daemon-guest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
head -c 500000 /dev/urandom > "$work/tree/a.bin"
echo "hello from the daemon's guest test" > "$work/tree/hello.txt"
xorriso -as mkisofs -quiet -R -V UDISC_CUE -o "$work/data.bin" "$work/tree" 2>/dev/null
head -c $((2352 * 750)) /dev/urandom > "$work/audio.bin"
printf 'FILE "data.bin" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\nFILE "audio.bin" BINARY\n  TRACK 02 AUDIO\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n' > "$work/disc.cue"
(cd "$work/tree" && sha256sum -- * > "$work/sums")
# The same data track on a web server for `udisc mount URL` (issue 13):
# Debian's nginx on 127.0.0.1, which the guest reaches as 10.0.2.2 through
# QEMU's user network. Without nginx the guest skips that check.
url=(); net=()
if [[ -x /usr/sbin/nginx ]]; then
  WORK="$work"; source "$here/../../tests/iscsi/lib.sh"  # start_nginx, cleanup (its trap replaced below)
  trap 'cleanup; rm -rf "$work"' EXIT
  mkdir -p "$work/www" && cp "$work/data.bin" "$work/www/disc.iso"
  port=$((20000 + RANDOM % 20000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  start_nginx "$work/www" "$port"
  echo "http://10.0.2.2:$port/disc.iso" > "$work/url"
  url=(--file "$work/url"); net=(-- -netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile=)
fi
rc=0
"$here/../../tests/guest/run.sh" --script "$here/guest_checks.sh" --bin "$udisc" \
  --file "$work/data.bin" --file "$work/audio.bin" --file "$work/disc.cue" --file "$work/sums" "${url[@]}" \
  --timeout 400 "$@" "${net[@]}" || rc=$?
if ((${#url[@]})); then stop_nginx; fi
exit $rc
