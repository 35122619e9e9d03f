#!/usr/bin/env bash
# udisc.exe under Wine against the Linux udisc on the same fixtures: info
# (table and --json), verify and convert must print the same (Windows' CRLF
# line ends aside), exit with the same status, and convert must write the
# same BIN/CUE bytes. Fixtures: a bootable xorriso ISO, and the project's
# mixed-mode multisession BIN/CUE with WAVE tracks (make_mixed_cue), the same
# with FLAC tracks, a CHD made by chdman, the ISO compressed with xz and
# as a ZSO (LZ4 blocks, written by the project's write_image), and the mixed
# disc as an MDX with encrypted track data, and as one with its tracks in
# encrypted compressed chunks (write_image; nettle's AES and PBKDF2 built
# from Debian's source into udisc.exe, zlib for the chunks), and one under a
# user's password (refused without --password-file, read with it).
#   parity.sh UDISC MAKE_MIXED_CUE WORKDIR WRITE_IMAGE
# Exit 77 (skip) only without Wine or mingw-w64.
UDISC=$1 MAKE_MIXED_CUE=$2 WORK=$3 WRITE_IMAGE=$4
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
# The codecs the Windows build compiles from Debian's sources
# (cmake/windows-codecs.cmake): the mixed disc with its audio tracks as FLAC,
# a single-session one (CHD keeps no sessions) as a CHD from chdman (LZMA data
# hunks, FLAC and Deflate audio hunks), and the ISO as a multi-block xz.
for wav in mixed*.wav; do flac -s -f -o "${wav%.wav}.flac" "$wav"; done
sed 's/\.wav" WAVE/.flac" WAVE/' mixed.cue > flac.cue
grep -q '\.flac" WAVE' flac.cue || fail "no FLAC track in flac.cue"
"$MAKE_MIXED_CUE" . --iso boot.iso --audio-tracks 2 --wave --name single >/dev/null
chdman createcd -i single.cue -o single.chd >/dev/null 2>&1 || fail "chdman createcd failed"
xz -k -T1 --block-size=65536 boot.iso
"$WRITE_IMAGE" --zso boot.iso boot.zso >/dev/null || fail "write_image --zso failed"
"$WRITE_IMAGE" mixed.cue . mixed --format mdx --sub --encrypt-data >/dev/null || fail "write_image --format mdx failed"
"$WRITE_IMAGE" mixed.cue . mixedz --format mdx --sub --encrypt-data --compress-data >/dev/null ||
  fail "write_image --format mdx --compress-data failed"
"$WRITE_IMAGE" mixed.cue . mixedp --format mdx --encrypt-data --password pazz >/dev/null ||
  fail "write_image --format mdx --password failed"
printf 'pazz\r\n' > password.txt  # written on Windows: the first line without its CRLF
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
  last_rc=$linux_rc
}

images=(boot.iso mixed.cue flac.cue single.chd boot.iso.xz boot.zso mixed.mdx mixedz.mdx)
for image in "${images[@]}"; do
  same info "$image"
  same info --json "$image"
  same verify "$image"
  [ "$last_rc" = 0 ] || fail "udisc verify $image failed on both systems"
done
same info mixedp.mdx
[ "$last_rc" != 0 ] && grep -q -- '--password-file FILE' "$WORK/linux.err" ||
  fail "udisc info mixedp.mdx without its password: expected a refusal naming --password-file"
same info --json mixedp.mdx --password-file password.txt
same verify mixedp.mdx --password-file password.txt
[ "$last_rc" = 0 ] || fail "udisc verify mixedp.mdx --password-file failed on both systems"
same info --json "café-ディスク.iso"
same info junk.iso
same info missing.cue

# convert: both write into their own directory; the files must be identical.
for image in "${images[@]}"; do
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
echo "PASS: $checked commands give the same output and bytes on Linux and under Wine"
