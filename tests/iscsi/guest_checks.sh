# Checks shared by the iSCSI guest scripts (sourced; uses their ok/bad).

# check_cdparanoia DEV: cdparanoia rips track 2 of the mixed-mode BIN/CUE in
# DEV bit-exact: equal to /data/track2.pcm (the audio after its INDEX 00,
# /data/track2.len bytes), made on the host by make_mixed_track2 (lib.sh).
check_cdparanoia() {
  if command -v cdparanoia >/dev/null; then
    # -r: raw little-endian PCM, the byte order of CD-DA in a BIN file.
    if cdparanoia -q -d "$1" -r 2 /tmp/t2.raw; then
      size=$(stat -c %s /tmp/t2.raw)
      want=$(cat /data/track2.len)
      if cmp -s -n "$want" /tmp/t2.raw /data/track2.pcm; then
        ok cdparanoia-bit-exact
      else
        cmp -l -n "$want" /tmp/t2.raw /data/track2.pcm 2>/dev/null | head -3
        cmp -l -n "$want" /tmp/t2.raw /data/track2.pcm 2>/dev/null | wc -l
        echo "ripped:"; od -A d -t x1 /tmp/t2.raw | head -4
        echo "image:"; od -A d -t x1 /data/track2.pcm | head -4
        bad cdparanoia-bit-exact "ripped track 2 differs from the image ($size bytes ripped, $want compared)"
      fi
    else
      bad cdparanoia "rip failed"
    fi
  else
    bad cdparanoia "not available in the guest"
  fi
}
