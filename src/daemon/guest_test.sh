#!/usr/bin/env bash
# Host side of the daemon's real-kernel checks: makes a two-file BIN/CUE
# (an ISO9660 data track and a random audio track), boots the guest kernel
# with the udisc binary (tests/guest/run.sh) and runs guest_checks.sh; the
# data track is also served by nginx for the guest's `udisc mount URL`.
# usage: guest_test.sh PATH/TO/udisc [run.sh options...]
# Exit 77 (skipped) when QEMU, xorriso or busybox-static is missing.
here="$(cd "$(dirname "$0")" && pwd)"
udisc="$1"; shift
source "$here/../../tests/guest/lib.sh"
guest_setup daemon-guest
mkdir -p "$work/tree"
head -c 500000 /dev/urandom > "$work/tree/a.bin"
echo "hello from the daemon's guest test" > "$work/tree/hello.txt"
guest_iso UDISC_CUE "$work/tree" "$work/data.bin" "$work/sums"
head -c $((2352 * 750)) /dev/urandom > "$work/audio.bin"
printf 'FILE "data.bin" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\nFILE "audio.bin" BINARY\n  TRACK 02 AUDIO\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n' > "$work/disc.cue"
# The same data track on a web server for `udisc mount URL` (issue 13):
# Debian's nginx on 127.0.0.1, which the guest reaches as 10.0.2.2 through
# QEMU's user network. Without nginx the guest skips that check.
url=(); net=()
if [[ -x /usr/sbin/nginx ]]; then
  WORK="$work"; source "$here/../../tests/iscsi/lib.sh"  # start_nginx, cleanup (its trap replaced below)
  trap 'stop_nginx; cleanup; rm -rf "$work"' EXIT  # TERM first: a killed master would leave its worker holding our output
  mkdir -p "$work/www" && cp "$work/data.bin" "$work/www/disc.iso"
  port=$((20000 + RANDOM % 20000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  start_nginx "$work/www" "$port"
  echo "http://10.0.2.2:$port/disc.iso" > "$work/url"
  url=(--file "$work/url"); net=(-- -netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile=)
fi
# tools/demo.sh runs in the guest too (with bash and xorriso), from /src.
guest_run --script "$here/guest_checks.sh" --bin "$udisc" --bin "$(command -v bash)" --bin "$(command -v xorriso)" \
  --file "$here/../../tools/demo.sh:/src/tools/demo.sh" --file "$here/../../README.md:/src/README.md" \
  --file "$work/data.bin" --file "$work/audio.bin" --file "$work/disc.cue" --file "$work/sums" "${url[@]}" \
  --timeout 400 "$@" "${net[@]}"
