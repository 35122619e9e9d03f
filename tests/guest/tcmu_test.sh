#!/usr/bin/env bash
# Host side of the TCMU end-to-end guest test: makes an ISO with xorriso,
# boots the guest kernel with udisc-tcmu-tool and runs tcmu_guest.sh.
# usage: tcmu_test.sh PATH/TO/udisc-tcmu-tool [PATH/TO/udisc [PATH/TO/make_mixed_cue]] [run.sh options...]
# Exit 77 (skipped) when QEMU or busybox-static is missing.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
tool="$1"; shift
# Optional second argument: the udisc binary (daemon + CLI checks).
udisc=""
if [[ $# -gt 0 && "$1" != -* ]]; then udisc="$1"; shift; fi
# Optional third argument: the make_mixed_cue generator (mixed-mode BIN/CUE checks).
mixed_gen=""
if [[ $# -gt 0 && "$1" != -* ]]; then mixed_gen="$1"; shift; fi
guest_setup tcmu-test
mkdir -p "$work/tree/sub/deeper"
head -c 3000000 /dev/urandom > "$work/tree/big.bin"
head -c 70001 /dev/urandom > "$work/tree/sub/odd.bin"
echo "hello from the guest test" > "$work/tree/hello.txt"
for i in $(seq 40); do head -c $((i * 997)) /dev/urandom > "$work/tree/sub/deeper/f$i"; done
guest_iso UDISC_TCMU "$work/tree" "$work/test.iso" "$work/sums" -J
args=(--script "$here/tcmu_guest.sh" --bin "$tool" --file "$work/test.iso" --file "$work/sums")
# With the udisc binary: the daemon and CLI checks (udisc_guest.sh) in the same boot.
if [[ -n "$udisc" ]]; then
  mkdir -p "$work/tree2"
  head -c 1234567 /dev/urandom > "$work/tree2/second.bin"
  echo "the second disc" > "$work/tree2/readme.txt"
  guest_iso UDISC_TWO "$work/tree2" "$work/test2.iso" "$work/sums2" -J
  args+=(--bin "$udisc" --file "$here/udisc_guest.sh:/udisc_guest.sh" --file "$work/test2.iso" --file "$work/sums2")
  # sg3-utils, libcdio, dvd+rw-mediainfo and the kernel's cdrom view (CD, DVD, BD) in the same boot.
  args+=(--file "$here/mmc_tools_guest.sh:/mmc_tools_guest.sh")
  # A mixed-mode BIN/CUE from the project's generator, when built (third argument).
  if [[ -n "$mixed_gen" && -x "$mixed_gen" ]]; then
    mkdir -p "$work/mixed"
    "$mixed_gen" "$work/mixed" --layout split --name mixed >/dev/null
    for f in "$work/mixed"/*; do args+=(--file "$f:/data/mixed/$(basename "$f")"); done
    # The same disc and test.iso as CHDs (chdman, mame-tools), for udisc_guest.sh.
    if command -v chdman >/dev/null; then
      chdman createcd -f -i "$work/mixed/mixed.cue" -o "$work/mixed.chd" >/dev/null 2>&1 && args+=(--file "$work/mixed.chd:/data/mixed.chd")
      chdman createraw -f -hs 8192 -us 2048 -i "$work/test.iso" -o "$work/test.chd" >/dev/null 2>&1 && args+=(--file "$work/test.chd:/data/test.chd")
    fi
    # and a multisession one (data + 2 audio tracks, then a mode 2 XA session)
    mkdir -p "$work/multi"
    "$mixed_gen" "$work/multi" --multisession --audio-tracks 2 --name multi >/dev/null
    for f in "$work/multi"/*; do args+=(--file "$f:/data/multi/$(basename "$f")"); done
    # The same kind of disc, its data track the test ISO, as CloneCD (.ccd/.img/.sub) by the
    # project's test writer beside the generator (issue 10: a descriptor format end to end).
    writer="$(dirname "$mixed_gen")/write_image"
    if [[ -x "$writer" ]]; then
      mkdir -p "$work/ccdsrc" "$work/ccd"
      "$mixed_gen" "$work/ccdsrc" --iso "$work/test.iso" --audio-tracks 2 --name mixed >/dev/null
      "$writer" "$work/ccdsrc/mixed.cue" "$work/ccd" mixed --format ccd --sub
      cp "$work/ccdsrc/expected.toc" "$work/ccd/"
      for f in "$work/ccd"/*; do args+=(--file "$f:/data/ccd/$(basename "$f")"); done
      # and as an MDX (DAEMON Tools: descriptor and data in one file, the data LRW-encrypted)
      mkdir -p "$work/mdx"
      "$writer" "$work/ccdsrc/mixed.cue" "$work/mdx" mixed --format mdx --encrypt-data
      args+=(--file "$work/mdx/mixed.mdx:/data/mdx/mixed.mdx")
    fi
  fi
  if command -v mkudffs >/dev/null; then
    mkudffs --media-type=hd --blocksize=2048 --label=UDISC_UDF "$work/empty.udf" 6000 >/dev/null
    args+=(--file "$work/empty.udf")
  fi
fi
guest_run "${args[@]}" --timeout 360 "$@"
