# Guest side of the daemon end-to-end checks: `udisc daemon` and the CLI on
# a real kernel. Sourced by tcmu_guest.sh when /bin/udisc is present; uses
# ok/bad from there. Images: /data/test.iso (+ /data/sums), /data/test2.iso
# (+ /data/sums2), /data/empty.udf (a fresh mkudffs image, filled here with
# the files of test.iso).
export UDISC_SOCKET=/run/udisc.sock
STATE=/tmp/udisc-state.json
start_daemon() {
  udisc daemon --socket $UDISC_SOCKET --state $STATE >> /tmp/daemon.log 2>&1 &
  dpid=$!
  for i in $(seq 200); do [ -S $UDISC_SOCKET ] && udisc list >/dev/null 2>&1 && return 0; sleep 0.05; done
  cat /tmp/daemon.log; return 1
}
verify_dir() {  # verify_dir SUMS
  (cd /mnt && sha256sum -c "$1" >/tmp/sums.out 2>&1) || { head -5 /tmp/sums.out; return 1; }
}
node_of() { udisc list 2>/dev/null | grep -o '/dev/sr[0-9]*' | head -n1; }

echo "== udisc daemon"
out=$(udisc list 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -qi "daemon" && ok d-no-daemon || bad d-no-daemon "rc=$rc: $out"
if start_daemon; then ok d-start; else bad d-start "daemon did not start"; return; fi

# mount: prints the node, isofs mounts it, every file matches
n1=$(udisc mount /data/test.iso 2>&1 | tail -n1)
echo "udisc mount -> $n1"
if [ -b "$n1" ] && mount -t iso9660 -o ro "$n1" /mnt && verify_dir /data/sums; then ok d-mount-iso; else bad d-mount-iso "$n1"; fi
sg_inq "$n1" | grep -E "Vendor|Product"
udisc list

# eject while mounted (the mount holds PREVENT): refused politely
out=$(udisc eject "$n1" 2>&1); rc=$?
[ $rc != 0 ] && ok d-eject-refused || bad d-eject-refused "eject while mounted succeeded: $out"
echo "  $out"
umount /mnt

# eject: reads fail with no medium
if udisc eject "$n1"; then
  if dd if="$n1" of=/dev/null bs=2048 count=1 2>/tmp/dd.err; then bad d-eject "read succeeded after eject"; else ok d-eject; fi
  cat /tmp/dd.err | head -2
else
  bad d-eject "eject failed"
fi

# insert another image: the kernel sees the new disc
if udisc insert "$n1" /data/test2.iso; then
  ok=0
  for i in $(seq 50); do mount -t iso9660 -o ro "$n1" /mnt 2>/dev/null && { ok=1; break; }; sleep 0.1; done
  if [ $ok = 1 ] && verify_dir /data/sums2; then ok d-insert; else bad d-insert "second disc not readable"; fi
  umount /mnt 2>/dev/null
else
  bad d-insert "insert failed"
fi

# mixed-mode BIN/CUE (from make_mixed_cue): the TOC in cd-info, and
# cdparanoia rips audio track 2 bit-exact (its 463 stored sectors after
# INDEX 01, then the 75 sectors of track 3's unstored PREGAP as silence)
if [ -f /data/mixed/mixed.cue ]; then
  n3=$(udisc mount /data/mixed/mixed.cue 2>&1 | tail -n1)
  echo "mixed-mode disc on $n3"
  if [ -b "$n3" ]; then
    cd-info --no-cddb --no-device-info --no-disc-mode "$n3" > /tmp/cdinfo.txt 2>&1
    sed -n '/CD-ROM Track List/,/leadout/p' /tmp/cdinfo.txt
    tocok=1
    while read -r _ t _ s _ m _ p _ start _ len; do
      kind=audio; [ "$m" = audio ] || kind=data
      grep -Eq "^ *$t: +[0-9:]+ +0*$start +$kind" /tmp/cdinfo.txt || { tocok=0; echo "track $t ($kind at $start) not in cd-info"; }
    done < /data/mixed/expected.toc
    [ $tocok = 1 ] && ok d-mixed-toc || bad d-mixed-toc "cd-info TOC differs from the generator's layout"
    if cdparanoia -q -r -d "$n3" 2 /tmp/t2.raw 2>/tmp/cdp.err; then
      dd if="/data/mixed/mixed (Track 02).bin" bs=2352 skip=150 2>/dev/null > /tmp/t2.want
      size=$(stat -c %s /tmp/t2.raw)
      dd if=/tmp/t2.raw bs=2352 count=463 2>/dev/null | cmp -s - /tmp/t2.want; same=$?
      tail_nonzero=$(dd if=/tmp/t2.raw bs=2352 skip=463 2>/dev/null | tr -d '\000' | wc -c)
      if [ $same = 0 ] && [ "$tail_nonzero" = 0 ] && [ "$size" = $((538 * 2352)) ]; then ok d-cdparanoia; else
        bad d-cdparanoia "size $size (want $((538 * 2352))), audio equal: $same, non-zero tail bytes: $tail_nonzero"; fi
    else
      bad d-cdparanoia "$(tail -3 /tmp/cdp.err)"
    fi
    udisc unmount "$n3" >/dev/null || bad d-mixed "unmount"
  else
    bad d-mixed-toc "mount of the cue failed: $n3"
  fi
fi

# CHD (chdman-made): test.iso as a raw CHD mounts with every file intact; the
# mixed-mode disc as a CD CHD rips track 2 exactly as the cue's rip above.
if [ -f /data/test.chd ]; then
  n4=$(udisc mount /data/test.chd 2>&1 | tail -n1)
  if [ -b "$n4" ] && mount -t iso9660 -o ro "$n4" /mnt && verify_dir /data/sums; then ok d-mount-chd; else bad d-mount-chd "$n4"; fi
  umount /mnt 2>/dev/null; udisc unmount "$n4" >/dev/null 2>&1
fi
if [ -f /data/mixed.chd ] && [ -f /tmp/t2.raw ]; then
  n5=$(udisc mount /data/mixed.chd 2>&1 | tail -n1)
  if [ -b "$n5" ] && cdparanoia -q -r -d "$n5" 2 /tmp/c2.raw 2>/tmp/cdp.err && cmp -s /tmp/c2.raw /tmp/t2.raw; then
    ok d-chd-cdparanoia; else bad d-chd-cdparanoia "$n5: $(tail -2 /tmp/cdp.err)"; fi
  udisc unmount "$n5" >/dev/null 2>&1
fi
# CloneCD (.ccd + .img + .sub, written by write_image from a disc whose track 1
# is test.iso): the daemon's client sends the three files; isofs mounts the
# data track and every file matches; cdparanoia rips audio track 2 bit-exact
# against the .img (stored from LBA 0 on, so LBA n is .img sector n).
if [ -f /data/ccd/mixed.ccd ]; then
  n4=$(udisc mount /data/ccd/mixed.ccd 2>&1 | tail -n1)
  echo "CloneCD disc on $n4"
  if [ -b "$n4" ] && mount -t iso9660 -o ro "$n4" /mnt && verify_dir /data/sums; then ok d-ccd-isofs; else
    bad d-ccd-isofs "$n4"; fi
  umount /mnt 2>/dev/null
  if [ -b "$n4" ]; then
    # expected.toc: "track N session S mode M pregap P start LBA length L"; the rip of
    # track 2 runs to track 3's INDEX 01 (its pregap, stored in the .img, included)
    start2=$(sed -n 2p /data/ccd/expected.toc | awk '{print $10}')
    next=$(sed -n 3p /data/ccd/expected.toc | awk '{print $10}')
    if cdparanoia -q -r -d "$n4" 2 /tmp/c2.raw 2>/tmp/cdp.err; then
      dd if=/data/ccd/mixed.img bs=2352 skip="$start2" count=$((next - start2)) 2>/dev/null | cmp -s - /tmp/c2.raw && ok d-ccd-cdparanoia ||
        bad d-ccd-cdparanoia "rip of track 2 (LBA $start2 to $next, $(stat -c %s /tmp/c2.raw) bytes) differs from the .img"
    else
      bad d-ccd-cdparanoia "$(tail -3 /tmp/cdp.err)"
    fi
    udisc unmount "$n4" >/dev/null || bad d-ccd "unmount"
  fi
fi

# The same disc as an MDX whose track data is encrypted (one file, no companions):
# isofs mounts it with every file intact, and the rip of track 2 equals the
# CloneCD drive's rip above, itself checked against the .img.
if [ -f /data/mdx/mixed.mdx ]; then
  n4=$(udisc mount /data/mdx/mixed.mdx 2>&1 | tail -n1)
  echo "MDX disc on $n4"
  if [ -b "$n4" ] && mount -t iso9660 -o ro "$n4" /mnt && verify_dir /data/sums; then ok d-mdx-isofs; else
    bad d-mdx-isofs "$n4"; fi
  umount /mnt 2>/dev/null
  if [ -b "$n4" ] && [ -s /tmp/c2.raw ]; then
    if cdparanoia -q -r -d "$n4" 2 /tmp/x2.raw 2>/tmp/cdp.err; then
      cmp -s /tmp/x2.raw /tmp/c2.raw && ok d-mdx-cdparanoia || bad d-mdx-cdparanoia "rip of track 2 differs from the CloneCD rip"
    else
      bad d-mdx-cdparanoia "$(tail -3 /tmp/cdp.err)"
    fi
  fi
  [ -b "$n4" ] && { udisc unmount "$n4" >/dev/null || bad d-mdx "unmount"; }
fi

# UDF: fill a fresh mkudffs image through a loop device, then mount it through udisc
if [ -f /data/empty.udf ]; then
  modprobe loop
  cp /data/empty.udf /tmp/fs.udf
  mkdir -p /tmp/l
  if mount -t udf -o loop /tmp/fs.udf /tmp/l 2>/tmp/udf.err; then
    mkdir -p /tmp/src && mount -t iso9660 -o loop,ro /data/test.iso /tmp/src && cp -r /tmp/src/. /tmp/l/
    umount /tmp/src; umount /tmp/l
    n2=$(udisc mount /tmp/fs.udf 2>&1 | tail -n1)
    if [ -b "$n2" ] && mount -t udf -o ro "$n2" /mnt && verify_dir /data/sums; then ok d-mount-udf; else bad d-mount-udf "$n2"; fi
    umount /mnt 2>/dev/null
  else
    bad d-mount-udf "cannot fill the UDF image: $(cat /tmp/udf.err)"
  fi
fi

# kill -9 of the daemon while a file system is mounted; restart brings the drive back
mount -t iso9660 -o ro "$n1" /mnt
kill -9 $dpid; wait $dpid 2>/dev/null
sync; echo 3 > /proc/sys/vm/drop_caches
if start_daemon; then
  if verify_dir /data/sums2 && [ "$(udisc list | grep -c "$n1")" -ge 1 ]; then ok d-restart; else bad d-restart "drive not back"; fi
else
  bad d-restart "daemon did not restart"
fi
umount /mnt

# sg3-utils, libcdio, dvd+rw-mediainfo and the kernel's view of a CD, a DVD and a BD (before the
# 16 extra drives: /proc/sys/dev/cdrom/info holds about a dozen drives' columns)
[ -f /mmc_tools_guest.sh ] && . /mmc_tools_guest.sh

# many drives at once
nodes=""
for i in $(seq 16); do
  n=$(udisc mount /data/test.iso 2>&1 | tail -n1)
  [ -b "$n" ] && nodes="$nodes $n" || { bad d-16 "drive $i: $n"; break; }
done
count=$(echo $nodes | wc -w)
echo "created $count more drives"
if [ "$count" = 16 ]; then
  okr=1
  for n in $nodes; do dd if=$n bs=2048 skip=16 count=1 2>/dev/null | grep -q CD001 || okr=0; done
  [ $okr = 1 ] && ok d-16 || bad d-16 "a drive does not read"
fi

# unmount: every drive goes, configfs is clean
for n in $nodes $n1 $n2; do udisc unmount "$n" || bad d-unmount "$n"; done
sleep 0.2
left=$(ls /dev/sr* 2>/dev/null)
if [ -z "$left" ] && clean_configfs; then ok d-unmount; else bad d-unmount "left: $left $(ls $CFG/core $CFG/loopback)"; fi
kill -TERM $dpid; wait $dpid
tail -5 /tmp/daemon.log
