# Runs inside the test guest (busybox sh): the iSCSI LUNs arrive through
# QEMU's iSCSI driver as scsi-block devices on virtio-scsi.
#   LUN 0: ISO9660 + Joliet + Rock Ridge (files checked against /data/sums)
#   LUN 1: mixed-mode disc (data + audio, MCN, ISRC) as a Nero NRG v2 with sub-channel
#   LUN 2: ISO9660/UDF bridge, mounted as udf (files checked against /data/udfsums)
fails=0
ok() { echo "OK   $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

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

if command -v cdparanoia >/dev/null; then
  # -r: raw little-endian PCM, the byte order of CD-DA in a BIN file.
  if cdparanoia -q -d /dev/sr1 -r 2 /tmp/t2.raw; then
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
[ $fails = 0 ]
