# Runs inside the test guest (busybox sh): the iSCSI LUNs arrive through
# QEMU's iSCSI driver as scsi-block devices on virtio-scsi.
#   LUN 0: ISO9660 + Joliet + Rock Ridge (files checked against /data/sums)
#   LUN 1: mixed-mode BIN/CUE (data + audio, MCN, ISRC)
#   LUN 2: ISO9660/UDF bridge, mounted as udf (files checked against /data/udfsums)
#   LUN 3: LUN 1's disc as a CHD (chdman createcd): isofs checksums, cdparanoia bit-exact
fails=0
ok() { echo "OK   $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
. /guest_checks.sh

for i in $(seq 100); do [ -b /dev/sr0 ] && [ -b /dev/sr1 ] && [ -b /dev/sr2 ] && break; sleep 0.2; done
ls -l /dev/sr* 2>&1
for d in /sys/block/sr*; do echo "$d: type $(cat $d/device/type) $(cat $d/device/vendor) $(cat $d/device/model)"; done
[ "$(cat /sys/block/sr0/device/type)" = 5 ] && ok sr-cdrom || bad sr-cdrom "sr0 is not a CD-ROM"

mkdir -p /mnt
if mount -t iso9660 -o ro /dev/sr0 /mnt; then
  ls /mnt
  if (cd /mnt && sha256sum -c /data/sums); then ok iso-checksums; else bad iso-checksums "file checksums differ"; fi
  [ -f /mnt/long-file-name-with-rock-ridge.txt ] && ok rock-ridge-names || bad rock-ridge-names "long name missing"
  umount /mnt
else
  bad iso-mount "mount -t iso9660 /dev/sr0 failed"
fi

# UDF: the LUN that the kernel's udf driver mounts (the other two carry no UDF
# descriptors); every file's checksum matches the host's tree
udfdev=""
for d in /dev/sr2 /dev/sr0 /dev/sr1; do  # LUN 2 is usually sr2; try it first
  if mount -t udf -o ro "$d" /mnt 2>/dev/null; then udfdev=$d; break; fi
done
if [ -n "$udfdev" ]; then
  grep " /mnt " /proc/mounts
  if grep -q " /mnt udf " /proc/mounts && (cd /mnt && sha256sum -c /data/udfsums); then ok udf-checksums
  else bad udf-checksums "udf on $udfdev: checksums differ"; fi
  umount /mnt
else
  bad udf-mount "no LUN mounts as udf"
fi

if command -v cd-info >/dev/null; then
  cd-info --no-device-info --no-cddb /dev/sr1 > /tmp/cdinfo.txt 2>&1
  head -40 /tmp/cdinfo.txt
  grep -q "audio" /tmp/cdinfo.txt && grep -q "data" /tmp/cdinfo.txt && ok cd-info-toc || bad cd-info-toc "no data+audio tracks"
  grep -q "0000000012345" /tmp/cdinfo.txt && ok cd-info-mcn || bad cd-info-mcn "MCN not shown"
  grep -q "ZZUDC0000003" /tmp/cdinfo.txt && ok cd-info-isrc || bad cd-info-isrc "ISRC of track 3 not shown"
else
  bad cd-info "not available in the guest"
fi

check_cdparanoia /dev/sr1
# LUN 3: the CHD. Its data track holds test.iso; its track 2 is the same audio.
for i in $(seq 50); do [ -b /dev/sr3 ] && break; sleep 0.2; done
if mount -t iso9660 -o ro /dev/sr3 /mnt; then
  if (cd /mnt && sha256sum -c /data/sums); then ok chd-iso-checksums; else bad chd-iso-checksums "file checksums differ"; fi
  umount /mnt
else
  bad chd-iso-mount "mount -t iso9660 /dev/sr3 failed"
fi
if cdparanoia -q -d /dev/sr3 -r 2 /tmp/c2.raw && cmp -s -n "$(cat /data/track2.len)" /tmp/c2.raw /data/track2.pcm; then
  ok chd-cdparanoia-bit-exact
else
  bad chd-cdparanoia-bit-exact "rip of track 2 from the CHD failed or differs from the image"
fi
[ $fails = 0 ]
