#!/usr/bin/env bash
# Host side of the daemon's real-kernel checks: makes a two-file BIN/CUE
# (an ISO9660 data track and a random audio track), boots the guest kernel
# with the udisc binary (tests/guest/run.sh) and runs guest_checks.sh.
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
# tools/demo.sh runs in the guest too (with bash and xorriso), from /src.
guest_run --script "$here/guest_checks.sh" --bin "$udisc" --bin "$(command -v bash)" --bin "$(command -v xorriso)" \
  --file "$here/../../tools/demo.sh:/src/tools/demo.sh" --file "$here/../../README.md:/src/README.md" \
  --file "$work/data.bin" --file "$work/audio.bin" --file "$work/disc.cue" --file "$work/sums" --timeout 400 "$@"
