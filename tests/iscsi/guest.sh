#!/usr/bin/env bash
# QEMU guest (Debian's kernel, TCG) attaching four udisc serve LUNs (the fourth a CHD) with
# -drive driver=iscsi + -device scsi-block on virtio-scsi: the sr driver,
# isofs and udf with checksums, cd-info TOC/MCN/ISRC of a mixed-mode disc (as NRG) and a
# bit-exact cdparanoia rip. LUNs 0 and 1 (the ISO and the NRG) are read from URLs
# on a local nginx, LUNs 2 and 3 from their files, so both image sources reach a
# real kernel. Uses the tests/guest harness; exit 77 = skipped.
#   guest.sh UDISC MAKE_MIXED_CUE WORKDIR PORT
UDISC=$1 MIXED=$2 WORK=$3 PORT=$4
source "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || exit 77
rm -rf "$WORK"; mkdir -p "$WORK/tree"
head -c 3000000 /dev/urandom > "$WORK/tree/random.bin"
echo "rock ridge" > "$WORK/tree/long-file-name-with-rock-ridge.txt"
seq 1 100000 > "$WORK/tree/numbers.txt"
xorriso -as mkisofs -quiet -R -J -o "$WORK/test.iso" "$WORK/tree" 2>/dev/null
(cd "$WORK/tree" && sha256sum random.bin numbers.txt long-file-name-with-rock-ridge.txt > "$WORK/sums")
# A UDF image with files, made on the host: genisoimage -udf writes an ISO9660/UDF
# bridge (the host has no pure-UDF writer that adds files, and may not mount udf);
# the guest mounts it with -t udf, so the kernel's udf driver reads our drive.
mkdir -p "$WORK/udftree/dir/sub"
head -c 2500000 /dev/urandom > "$WORK/udftree/dir/sub/payload.bin"
seq 1 50000 > "$WORK/udftree/count.txt"
for i in 1 2 3 4 5 6 7 8; do head -c $((i * 4093)) /dev/urandom > "$WORK/udftree/dir/f$i"; done
genisoimage -quiet -udf -V UDISC_UDF -o "$WORK/udf.iso" "$WORK/udftree" 2>/dev/null ||
  xorriso -as mkisofs -quiet -udf -V UDISC_UDF -o "$WORK/udf.iso" "$WORK/udftree" 2>/dev/null || fail "no UDF image writer"
(cd "$WORK/udftree" && find . -type f | sort | xargs sha256sum > "$WORK/udfsums")
make_mixed_track2 "$MIXED" "$WORK/test.iso"

# LUN 1 serves that disc as a Nero image (v2, 96-byte sub-channel per sector) written by the
# project's test writer beside the generator, so a descriptor format crosses iSCSI (issue 10);
# the BIN/CUE itself when the writer is not built.
lun1="mixed/mixed.cue"
if [[ -x "$(dirname "$MIXED")/write_image" ]]; then
  "$(dirname "$MIXED")/write_image" "$WORK/$lun1" "$WORK/mixed" mixed --format nrg2 --sub && lun1="mixed/mixed.nrg"
fi
# LUN 3: the mixed-mode disc as a CHD, made by chdman (mame-tools) from the cue.
lun3=$WORK/mixed.chd
chdman createcd -f -i "$WORK/mixed/mixed.cue" -o "$WORK/mixed.chd" > /dev/null 2>&1 || fail "chdman createcd failed"
# LUNs 0 and 1 are read from nginx through their URLs.
start_nginx "$WORK" $((PORT + 1000))
web="http://127.0.0.1:$((PORT + 1000))"
start_serve "$PORT" "$web/test.iso" "$web/$lun1" "$WORK/udf.iso" "$lun3"
drive() { echo "driver=iscsi,transport=tcp,portal=127.0.0.1:$PORT,target=$IQN,lun=$1,if=none,id=cd$1,readonly=on"; }
rc=0
"$(dirname "$0")/../guest/run.sh" --script "$(dirname "$0")/guest_inner.sh" --timeout 500 \
  --file "$WORK/sums:/data/sums" --file "$WORK/track2.pcm:/data/track2.pcm" --file "$WORK/track2.len:/data/track2.len" --file "$WORK/udfsums:/data/udfsums" \
  --file "$(dirname "$0")/guest_checks.sh:/guest_checks.sh" --log "$WORK/console.log" -- \
  -device virtio-scsi-pci,id=scsi0 \
  -drive "$(drive 0)" -device scsi-block,drive=cd0,bus=scsi0.0 \
  -drive "$(drive 1)" -device scsi-block,drive=cd1,bus=scsi0.0 \
  -drive "$(drive 2)" -device scsi-block,drive=cd2,bus=scsi0.0 \
  -drive "$(drive 3)" -device scsi-block,drive=cd3,bus=scsi0.0 || rc=$?
stop_serve
stop_nginx
grep -E "^(OK|FAIL) " "$WORK/console.log" || true
[ "$rc" = 0 ] || fail "guest checks failed (rc $rc)"
echo "PASS: guest"
