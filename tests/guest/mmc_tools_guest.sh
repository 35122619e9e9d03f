# Guest side of the MMC checks with the standard tools: sg3-utils (sg_inq,
# sg_vpd, sg_modes, sg_get_config, sg_raw), libcdio (cd-info, cd-read),
# dvd+rw-mediainfo and the kernel's cdrom driver, against drives answered by
# the engine through TCMU. Sourced by udisc_guest.sh with the daemon running;
# uses ok/bad from tcmu_guest.sh.
# Media:
#   CD   /data/mixed/mixed.cue (make_mixed_cue --layout split: track 1 mode 1
#        LBA 0..599, audio tracks 2..5, lead-out 2815, MCN, ISRC on track 3)
#   DVD  /data/test2.iso padded on tmpfs to 1000 MiB (512000 sectors: above
#        the 405000-sector CD limit, docs/formats/iso.md)
#   BD   the same padded to 9000 MiB (4608000 sectors: above the 4173824-sector
#        DVD-DL limit). Both are sparse tmpfs files: only the ISO is in RAM.

# hex BYTES of FILE from OFFSET: "0a ff"
hexat() { od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
# expect NAME FILE OFFSET "HEX BYTES" — records a failure message in $why
expect() {
  got=$(hexat "$2" "$3" $(echo "$4" | wc -w))
  [ "$got" = "$4" ] || { why="$why $1: got '$got' want '$4';"; return 1; }
}
# column of /proc/sys/dev/cdrom/info for drive srN: cap_of NODE "Can read DVD"
# (columns counted from the end of the line: some keys hold spaces)
cap_of() {
  awk -v dev="$(basename "$1")" -v key="$2:" '
    $0 ~ /^drive name:/ { for (i = 3; i <= NF; i++) if ($i == dev) back = NF - i }
    index($0, key) == 1 && back != "" { print $(NF - back) }' /tmp/cdrom.info
}
# sg_raw wrapper: raw OUT LEN NODE CDB...
raw() { out=$1; len=$2; dev=$3; shift 3; sg_raw -r "$len" -o "$out" "$dev" "$@" 2>/tmp/sgraw.err; }

mmc_common() {  # mmc_common TAG NODE PROFILE-NAME
  tag=$1; n=$2; prof=$3
  sg_inq "$n" > /tmp/inq.txt 2>&1
  grep -q "PDT=5" /tmp/inq.txt && grep -q "RMB=1" /tmp/inq.txt && grep -q "Vendor identification: UDISC" /tmp/inq.txt &&
    grep -q "Product identification: ." /tmp/inq.txt && ok "$tag-sg_inq" || { cat /tmp/inq.txt; bad "$tag-sg_inq" "PDT 5, RMB 1, vendor UDISC"; }
  sg_vpd -p 0x00 "$n" > /tmp/vpd0.txt 2>&1
  sg_vpd -p 0x80 "$n" > /tmp/vpd80.txt 2>&1
  sg_vpd -p 0x83 "$n" > /tmp/vpd83.txt 2>&1
  if grep -q "Unit serial number" /tmp/vpd0.txt && grep -q "Device identification" /tmp/vpd0.txt &&
     grep -Eq "Unit serial number: *[^ ]+" /tmp/vpd80.txt && grep -q "NAA" /tmp/vpd83.txt; then ok "$tag-sg_vpd"
  else cat /tmp/vpd0.txt /tmp/vpd80.txt /tmp/vpd83.txt; bad "$tag-sg_vpd" "pages 00h/80h/83h (NAA)"; fi
  # page 2Ah with MODE SENSE(6), as Linux asks for it: 4-byte header, no block descriptor
  why=""
  if sg_modes -6 -r -p 0x2a "$n" > /tmp/p2a.bin 2>/tmp/p2a.err; then
    expect blockdesc /tmp/p2a.bin 3 "00"
    expect page /tmp/p2a.bin 4 "2a"
    b2=$(hexat /tmp/p2a.bin 6 1); b3=$(hexat /tmp/p2a.bin 7 1); b5=$(hexat /tmp/p2a.bin 9 1); b6=$(hexat /tmp/p2a.bin 10 1)
    echo "  page 2Ah read $b2 write $b3 caps5 $b5 mech $b6"
    [ $((0x$b3)) = 0 ] || why="$why write bits $b3;"
    [ $((0x$b5 & 1)) = 1 ] || why="$why CD-DA commands bit clear;"
    [ $((0x$b6 & 0x09)) = 9 ] || why="$why eject/lock bits ($b6);"
    [ "$prof" = CD-ROM ] || [ $((0x$b2 & 8)) = 8 ] || why="$why DVD read bit clear on a $prof drive;"
  else why="MODE SENSE(6) page 2Ah failed: $(cat /tmp/p2a.err)"; fi
  [ -z "$why" ] && ok "$tag-sg_modes-2a" || bad "$tag-sg_modes-2a" "$why"
  sg_get_config -c "$n" > /tmp/gc.txt 2>&1
  sg_get_config "$n" > /tmp/gca.txt 2>&1
  feats="Core|Morphing|Removable media|Random readable|Multi-read|CD read|Power management|Timeout|Real time streaming|Drive serial number"
  [ "$prof" = CD-ROM ] || feats="$feats|DVD read"
  [ "$prof" = BD-ROM ] && feats="$feats|BD read"
  missing=$(echo "$feats" | tr '|' '\n' | while read -r f; do grep -qi "^ *$f" /tmp/gca.txt || echo -n "[$f] "; done)
  if grep -Eq "Current profile: $prof *$" /tmp/gc.txt && [ -z "$missing" ]; then ok "$tag-sg_get_config"
  else grep -i -E "current|profile" /tmp/gc.txt; bad "$tag-sg_get_config" "want current profile $prof; missing features: $missing"; fi
  # GET EVENT STATUS NOTIFICATION, polled, media class: length 0006h, class 4, media present
  why=""
  if raw /tmp/gesn.bin 8 "$n" 4a 01 00 00 10 00 00 00 08 00; then
    expect length /tmp/gesn.bin 0 "00 06"; expect class /tmp/gesn.bin 2 "04"
    [ $((0x$(hexat /tmp/gesn.bin 5 1)0 & 0x20)) = 32 ] || why="$why media present bit clear;"
  else why="$(cat /tmp/sgraw.err)"; fi
  [ -z "$why" ] && ok "$tag-gesn" || bad "$tag-gesn" "$why"
  # READ DISC INFORMATION: a complete disc with a complete last session (byte 2 = 0Eh)
  why=""
  if raw /tmp/rdi.bin 34 "$n" 51 00 00 00 00 00 00 00 22 00; then expect disc-status /tmp/rdi.bin 2 "0e"
  else why="$(cat /tmp/sgraw.err)"; fi
  [ -z "$why" ] && ok "$tag-disc-info" || bad "$tag-disc-info" "$why"
  cat /proc/sys/dev/cdrom/info > /tmp/cdrom.info
  play=$(cap_of "$n" "Can play audio"); dvd=$(cap_of "$n" "Can read DVD"); lock=$(cap_of "$n" "Can lock tray")
  echo "  /proc/sys/dev/cdrom/info $(basename "$n"): play audio $play, read DVD $dvd, lock $lock"
  wantdvd=1; [ "$prof" = CD-ROM ] && wantdvd=$dvd
  [ "$play" = 1 ] && [ "$lock" = 1 ] && [ "$dvd" = "$wantdvd" ] && ok "$tag-kernel-caps" ||
    bad "$tag-kernel-caps" "play audio '$play' lock '$lock' read DVD '$dvd' (want 1 1 $wantdvd)"
}

capacity_is() {  # capacity_is TAG NODE LAST-LBA-HEX(8 digits)
  want=$(echo "$3" | sed 's/../& /g; s/ $//')
  why=""
  if raw /tmp/rcap.bin 8 "$2" 25 00 00 00 00 00 00 00 00 00; then
    expect last-lba /tmp/rcap.bin 0 "$want"; expect block-length /tmp/rcap.bin 4 "00 00 08 00"
  else why="$(cat /tmp/sgraw.err)"; fi
  [ -z "$why" ] && ok "$1-read-capacity" || bad "$1-read-capacity" "$why"
}

echo "== MMC tools"
# --- CD: the mixed-mode BIN/CUE
if [ -f /data/mixed/mixed.cue ]; then
  cd=$(udisc mount /data/mixed/mixed.cue 2>&1 | tail -n1)
  echo "mixed-mode CD on $cd"
  if [ -b "$cd" ]; then
    mmc_common cd "$cd" CD-ROM
    capacity_is cd "$cd" 00000afe  # lead-out 2815 - 1
    # READ TOC format 0000b (LBA): 5 tracks, data track control 4, lead-out at 2815
    why=""
    if raw /tmp/toc0.bin 804 "$cd" 43 00 00 00 00 00 00 03 24 00; then
      expect toc-length /tmp/toc0.bin 0 "00 32 01 05"
      expect track1 /tmp/toc0.bin 4 "00 14 01 00 00 00 00 00"
      expect track2 /tmp/toc0.bin 12 "00 10 02 00 00 00 02 ee"
      expect track3-pre /tmp/toc0.bin 20 "00 11 03 00 00 00 05 08"
      expect leadout /tmp/toc0.bin 44 "00 10 aa 00 00 00 0a ff"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok cd-toc-format0 || bad cd-toc-format0 "$why"
    # starting track AAh: the lead-out alone
    why=""
    if raw /tmp/tocaa.bin 804 "$cd" 43 00 00 00 00 00 aa 03 24 00; then
      expect toc-aa /tmp/tocaa.bin 0 "00 0a 01 05 00 10 aa 00 00 00 0a ff"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok cd-toc-leadout || bad cd-toc-leadout "$why"
    # format 0001b: session info, one session starting with track 1 at LBA 0
    why=""
    if raw /tmp/toc1.bin 12 "$cd" 43 00 01 00 00 00 00 00 0c 00; then
      expect session-info /tmp/toc1.bin 0 "00 0a 01 01 00 14 01 00 00 00 00 00"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok cd-toc-format1 || bad cd-toc-format1 "$why"
    # format 0010b: full TOC, A0 first track 1, A1 last track 5, A2 lead-out 00:39:40 (2815 + 150)
    why=""
    if raw /tmp/toc2.bin 804 "$cd" 43 02 02 00 00 00 00 03 24 00; then
      expect full-length /tmp/toc2.bin 0 "00 5a"
      a0=""; a1=""; a2=""
      for i in 0 1 2 3 4 5 6 7; do
        d=$((4 + i * 11)); pt=$(hexat /tmp/toc2.bin $((d + 3)) 1); pm=$(hexat /tmp/toc2.bin $((d + 8)) 3)
        case $pt in a0) a0=$pm ;; a1) a1=$pm ;; a2) a2=$pm ;; esac
      done
      [ "$a0" = "01 00 00" ] || why="$why A0 '$a0';"
      [ "$a1" = "05 00 00" ] || why="$why A1 '$a1';"
      [ "$a2" = "00 27 28" ] || why="$why A2 '$a2';"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok cd-toc-full || bad cd-toc-full "$why"
    # READ CD of a data sector (sync, header, user data, EDC/ECC) and an audio sector: the image's bytes
    dd if="/data/mixed/mixed (Track 01).bin" bs=2352 skip=10 count=1 2>/dev/null > /tmp/want_data.bin
    dd if="/data/mixed/mixed (Track 02).bin" bs=2352 skip=200 count=1 2>/dev/null > /tmp/want_audio.bin
    if raw /tmp/rcd_data.bin 2352 "$cd" be 00 00 00 00 0a 00 00 01 f8 00 00 && cmp -s /tmp/rcd_data.bin /tmp/want_data.bin
    then ok cd-readcd-data; else bad cd-readcd-data "LBA 10 raw sector differs: $(cat /tmp/sgraw.err)"; fi
    if raw /tmp/rcd_audio.bin 2352 "$cd" be 04 00 00 03 20 00 00 01 10 00 00 && cmp -s /tmp/rcd_audio.bin /tmp/want_audio.bin
    then ok cd-readcd-audio; else bad cd-readcd-audio "LBA 800 CD-DA sector differs: $(cat /tmp/sgraw.err)"; fi
    # READ CD expecting mode 1 on an audio sector: 05/64/00 (illegal mode for this track)
    if raw /tmp/rcd_bad.bin 2352 "$cd" be 08 00 00 03 20 00 00 01 10 00 00; then bad cd-readcd-mismatch "succeeded"
    elif grep -qi "illegal mode for this track" /tmp/sgraw.err; then ok cd-readcd-mismatch
    else bad cd-readcd-mismatch "$(cat /tmp/sgraw.err)"; fi
    # cd-info: MCN and ISRC (the track list is checked by d-mixed-toc)
    cd-info --no-cddb --no-device-info --no-disc-mode "$cd" > /tmp/cdinfo2.txt 2>&1
    grep -E "MCN|ISRC" /tmp/cdinfo2.txt
    grep -q "Media Catalog Number (MCN): 0000000012345" /tmp/cdinfo2.txt && ok cd-info-mcn || bad cd-info-mcn "no MCN 0000000012345"
    grep -Eq "TRACK +3 ISRC: ZZUDC0000003" /tmp/cdinfo2.txt && ok cd-info-isrc || bad cd-info-isrc "no ISRC ZZUDC0000003 on track 3"
    # cd-read through the Linux cdrom ioctls: an audio sector (CDROMREADAUDIO) and the
    # bytes after the header of a mode 1 sector (CDROMREADMODE2: READ CD, any type,
    # 2336 bytes, of which cd-read -m m2f2 writes the first 2324)
    dd if=/tmp/want_data.bin bs=16 skip=1 count=128 2>/dev/null > /tmp/want_user.bin
    dd if=/tmp/want_data.bin bs=4 skip=4 count=581 2>/dev/null > /tmp/want_2324.bin
    rm -f /tmp/cdread.bin
    if cd-read --no-header --no-hexdump -m audio -s 800 -n 1 -o /tmp/cdread.bin "$cd" >/tmp/cdread.log 2>&1 &&
       cmp -s /tmp/cdread.bin /tmp/want_audio.bin; then ok cd-read-audio
    else bad cd-read-audio "LBA 800: $(tail -3 /tmp/cdread.log) $(stat -c %s /tmp/cdread.bin 2>&1)"; fi
    rm -f /tmp/cdread.bin
    if cd-read --no-header --no-hexdump -m m2f2 -s 10 -n 1 -o /tmp/cdread.bin "$cd" >/tmp/cdread.log 2>&1 &&
       cmp -s /tmp/cdread.bin /tmp/want_2324.bin; then ok cd-read-m2f2
    else bad cd-read-m2f2 "LBA 10: $(tail -3 /tmp/cdread.log) $(stat -c %s /tmp/cdread.bin 2>&1)"; fi
    # -m m1f1 is not checked: libcdio 2.1's Linux driver reads it with lseek+read and
    # returns read()'s byte count (2048) as its status, so cd-read reports
    # "error reading block" on every drive (cdio_generic_read_form1_sector).
    # the same user data through the block device (READ(10) on the kernel's side)
    dd if="$cd" bs=2048 skip=10 count=1 2>/dev/null | cmp -s - /tmp/want_user.bin && ok cd-read10-data || bad cd-read10-data "LBA 10 differs"
    udisc unmount "$cd" >/dev/null || bad cd-unmount "$cd"
  else
    bad cd-mount "$cd"
  fi
fi

# --- multisession CD (make_mixed_cue --multisession --audio-tracks 2): session 1
# tracks 1-3 (lead-out 1699), session 2 track 4 (mode 2 XA) at LBA 13099, 400 sectors
if [ -f /data/multi/multi.cue ]; then
  ms=$(udisc mount /data/multi/multi.cue 2>&1 | tail -n1)
  echo "multisession CD on $ms"
  if [ -b "$ms" ]; then
    capacity_is ms "$ms" 000034ba  # last session's lead-out 13499 - 1
    # format 0001b: sessions 1..2, the last session starts with track 4 at 13099 (0x332b)
    why=""
    if raw /tmp/mtoc1.bin 12 "$ms" 43 00 01 00 00 00 00 00 0c 00; then
      expect session-info /tmp/mtoc1.bin 0 "00 0a 01 02 00 14 04 00 00 00 33 2b"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok ms-toc-format1 || bad ms-toc-format1 "$why"
    # format 0010b: per session A0/A1/A2; A2 of session 1 = 1699 + 150 = 00:24:49, of
    # session 2 13499 + 150 = 03:01:74; track 4 at 13099 + 150 = 02:56:49 (hex below)
    why=""
    if raw /tmp/mtoc2.bin 1024 "$ms" 43 02 02 00 00 00 00 04 00 00; then
      len=$((0x$(hexat /tmp/mtoc2.bin 0 2 | tr -d ' ')))
      : > /tmp/mtoc2.txt
      i=0
      while [ $((4 + i * 11)) -lt $((len + 2)) ]; do
        d=$((4 + i * 11))
        echo "s$(hexat /tmp/mtoc2.bin $d 1) $(hexat /tmp/mtoc2.bin $((d + 3)) 1) $(hexat /tmp/mtoc2.bin $((d + 8)) 3)" >> /tmp/mtoc2.txt
        i=$((i + 1))
      done
      for want in "s01 a0 01 " "s01 a1 03 " "s01 a2 00 18 31" "s02 a0 04 " "s02 a1 04 " "s02 a2 03 01 4a" "s02 04 02 38 31"; do
        grep -q "^$want" /tmp/mtoc2.txt || why="$why missing '$want';"
      done
      grep -q "^s01 b0 " /tmp/mtoc2.txt || why="$why no B0 in session 1;"
    else why="$(cat /tmp/sgraw.err)"; fi
    [ -z "$why" ] && ok ms-toc-full || { cat /tmp/mtoc2.txt; bad ms-toc-full "$why"; }
    cd-info --no-cddb --no-device-info --no-disc-mode "$ms" > /tmp/cdinfo3.txt 2>&1
    sed -n '/CD-ROM Track List/,/leadout/p' /tmp/cdinfo3.txt
    grep -Eq "^ *4: +[0-9:]+ +0*13099 +" /tmp/cdinfo3.txt && ok ms-cd-info || bad ms-cd-info "track 4 not at 13099"
    udisc unmount "$ms" >/dev/null || bad ms-unmount "$ms"
  else
    bad ms-mount "$ms"
  fi
fi

# --- DVD and BD: sparse padded ISOs on tmpfs
big_disc() {  # big_disc TAG SIZE_MB PROFILE MEDIAINFO-LINE
  tag=$1; img=/tmp/$1.iso
  cp /data/test2.iso "$img" && truncate -s "$2M" "$img"
  sectors=$(($2 * 512))
  n=$(udisc mount "$img" 2>&1 | tail -n1)
  echo "$tag ($sectors sectors) on $n"
  [ -b "$n" ] || { bad "$tag-mount" "$n"; rm -f "$img"; return; }
  mmc_common "$tag" "$n" "$3"
  capacity_is "$tag" "$n" "$(printf %08x $((sectors - 1)))"
  # READ TRACK INFORMATION of track 1: start 0, size = every sector (start + size = capacity)
  why=""
  if raw /tmp/rti.bin 48 "$n" 52 01 00 00 00 01 00 00 30 00; then
    expect track-start /tmp/rti.bin 8 "00 00 00 00"
    expect track-size /tmp/rti.bin 24 "$(printf %08x $sectors | sed 's/../& /g; s/ $//')"
  else why="$(cat /tmp/sgraw.err)"; fi
  [ -z "$why" ] && ok "$tag-track-info" || bad "$tag-track-info" "$why"
  dvd+rw-mediainfo "$n" > /tmp/mi.txt 2>&1
  grep -E "Mounted Media|Disc status|READ CAPACITY" /tmp/mi.txt
  # DVD-ROM: the tool stops after READ DVD STRUCTURE ("DVD-ROM media detected"),
  # so the lead-out it prints is the check; BD: disc status and READ CAPACITY
  if [ "$3" = DVD-ROM ]; then
    grep -Eq "Mounted Media: +$4" /tmp/mi.txt && grep -Eq "Legacy lead-out at: +$sectors\*2KB" /tmp/mi.txt &&
      ok "$tag-mediainfo" || bad "$tag-mediainfo" "want '$4', lead-out $sectors*2KB: $(head -20 /tmp/mi.txt)"
  else
    grep -Eq "Mounted Media: +$4" /tmp/mi.txt && grep -Eq "Disc status: +complete" /tmp/mi.txt &&
      grep -Eq "READ CAPACITY: +$sectors\*2048=" /tmp/mi.txt && ok "$tag-mediainfo" ||
      bad "$tag-mediainfo" "want '$4', complete, $sectors*2048: $(head -20 /tmp/mi.txt)"
  fi
  if mount -t iso9660 -o ro "$n" /mnt && verify_dir /data/sums2; then ok "$tag-iso-checksums"; else bad "$tag-iso-checksums" "$n"; fi
  umount /mnt 2>/dev/null
  udisc unmount "$n" >/dev/null || bad "$tag-unmount" "$n"
  rm -f "$img"
}
big_disc dvd 1000 DVD-ROM "10h, DVD-ROM"
big_disc bd 9000 BD-ROM "40h, BD-ROM"
