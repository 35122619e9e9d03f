#!/usr/bin/env bash
# udisc.exe under Wine against the Linux udisc on the same fixtures: info
# (table and --json), verify and convert must print the same (Windows' CRLF
# line ends aside), exit with the same status, and convert must write the
# same BIN/CUE bytes. Fixtures: a bootable xorriso ISO, and the project's
# mixed-mode multisession BIN/CUE with WAVE tracks (make_mixed_cue).
#   parity.sh UDISC MAKE_MIXED_CUE WORKDIR
# Exit 77 (skip) only without Wine or mingw-w64.
UDISC=$1 MAKE_MIXED_CUE=$2 WORK=$3
source "$(dirname "$0")/lib.sh"
setup_wine
build_exe
rm -rf "$WORK"; mkdir -p "$WORK/src/tree"
cd "$WORK/src"
head -c 3000000 /dev/urandom > tree/random.bin
echo "hello from udisc" > tree/hello.txt
head -c 2048 /dev/urandom > tree/boot.img
xorriso -as mkisofs -quiet -R -J -V PARITY -b boot.img -no-emul-boot -boot-load-size 4 -o boot.iso tree 2>/dev/null
"$MAKE_MIXED_CUE" . --iso boot.iso --multisession --audio-tracks 3 --wave --name mixed >/dev/null
echo "not a disc image" > junk.iso
cp boot.iso "café-ディスク.iso"  # a name outside any ANSI code page: UTF-8 through udisc.exe's manifest

checked=0
# same CMD...: runs `udisc CMD` and `udisc.exe CMD` in the fixture directory
# (relative names, so both print the same paths); compares status and output.
same() {
  local linux_rc=0 wine_rc=0
  "$UDISC" "$@" > "$WORK/linux.out" 2> "$WORK/linux.err" || linux_rc=$?
  "$WINE" "$UDISC_EXE" "$@" > "$WORK/wine.raw" 2> "$WORK/wine.err.raw" || wine_rc=$?
  tr -d '\r' < "$WORK/wine.raw" > "$WORK/wine.out"
  tr -d '\r' < "$WORK/wine.err.raw" > "$WORK/wine.err"
  [ "$linux_rc" = "$wine_rc" ] || { cat "$WORK/wine.err" >&2; fail "udisc $*: exit $linux_rc on Linux, $wine_rc under Wine"; }
  diff -u "$WORK/linux.out" "$WORK/wine.out" >&2 || fail "udisc $*: output differs (Linux -, Wine +)"
  diff -u "$WORK/linux.err" "$WORK/wine.err" >&2 || fail "udisc $*: error output differs (Linux -, Wine +)"
  checked=$((checked + 1))
}

for image in boot.iso mixed.cue; do
  same info "$image"
  same info --json "$image"
  same verify "$image"
done
same info --json "café-ディスク.iso"
same info junk.iso
same info missing.cue

# convert: both write into their own directory; the files must be identical.
for image in boot.iso mixed.cue; do
  rm -rf "$WORK/linux" "$WORK/wine"; mkdir -p "$WORK/linux" "$WORK/wine"
  "$UDISC" convert "$image" -o "$WORK/linux/out.cue" > "$WORK/linux.out" 2>&1 || fail "Linux convert $image failed"
  (cd "$WORK/wine" && cp -r "$WORK/src/." . && "$WINE" "$UDISC_EXE" convert "$image" -o out.cue > "$WORK/wine.out" 2>&1) ||
    { cat "$WORK/wine.out" >&2; fail "Wine convert $image failed"; }
  n=0
  for f in "$WORK/linux"/out*; do
    cmp "$f" "$WORK/wine/$(basename "$f")" || fail "convert $image: $(basename "$f") differs"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || fail "convert $image wrote only $n files"
  [ "$(ls "$WORK/wine"/out* | wc -l)" = "$n" ] || fail "convert $image: Wine wrote a different set of files"
  (cd "$WORK/wine" && "$WINE" "$UDISC_EXE" verify out.cue > "$WORK/wine.out" 2>&1) || fail "udisc.exe verify of its own BIN/CUE failed"
  checked=$((checked + 1))
  echo "convert $image: $n identical files"
done
# FLAC tracks: the Windows build has no libFLAC and must say so (docs/windows-build.md).
if command -v flac >/dev/null; then
  wav=$(ls "$WORK/src"/*.wav | head -1)
  flac -s -f -o "$WORK/src/track.flac" "$wav"
  printf 'FILE "track.flac" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n' > "$WORK/src/flac.cue"
  "$UDISC" info flac.cue > /dev/null || fail "the Linux udisc cannot read the FLAC cue sheet"
  rc=0
  "$WINE" "$UDISC_EXE" info flac.cue > "$WORK/wine.out" 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "udisc.exe info of a FLAC cue sheet succeeded without libFLAC"
  grep -q "track.flac': FLAC audio is not supported by this build of udisc (built without libFLAC); decode the track to WAV (flac -d) and name the .wav in the cue sheet" "$WORK/wine.out" ||
    { cat "$WORK/wine.out" >&2; fail "udisc.exe does not explain that FLAC is unsupported"; }
  checked=$((checked + 1))
fi
echo "PASS: $checked commands give the same output and bytes on Linux and under Wine"
