#!/usr/bin/env bash
# libiscsi against udisc serve: iscsi-ls, iscsi-inq, iscsi-test-cu family
# iSCSI or SCSI (argument), then the LUN must still serve the image exactly.
#   conformance.sh UDISC WORKDIR PORT FAMILY
UDISC=$1 WORK=$2 PORT=$3 FAMILY=$4
source "$(dirname "$0")/lib.sh"
rm -rf "$WORK"; mkdir -p "$WORK"
make_iso "$WORK/tree" "$WORK/test.iso"
start_serve "$PORT" "$WORK/test.iso"
URL="iscsi://127.0.0.1:$PORT/$IQN/0"

timeout 60 iscsi-ls -s "iscsi://127.0.0.1:$PORT" | tee "$WORK/ls.txt"
grep -q "Target:$IQN Portal:127.0.0.1:$PORT,1" "$WORK/ls.txt" || fail "iscsi-ls does not list the target"
grep -q "Lun:0 *Type:MMC" "$WORK/ls.txt" || fail "iscsi-ls does not show LUN 0 as MMC"
timeout 60 iscsi-inq "$URL" > "$WORK/inq.txt"
grep -q "Peripheral Device Type:MMC" "$WORK/inq.txt" || fail "iscsi-inq: not an MMC device"
grep -q "Removable:1" "$WORK/inq.txt" || fail "iscsi-inq: not removable"

run_test_cu "$FAMILY" "$URL"

# After the suite: same capacity, same bytes.
size=$(qemu-img info --output=json "$URL" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
[ "$size" = "$(stat -c %s "$WORK/test.iso")" ] || fail "capacity after the suite: $size bytes, image has $(stat -c %s "$WORK/test.iso")"
qemu-img compare -f raw -F raw "$WORK/test.iso" "$URL" || fail "data read after the suite differs from the image"
want=$(sha256sum < "$WORK/test.iso")
got=$(qemu-img convert -f raw -O raw "$URL" "$WORK/readback.raw" && sha256sum < "$WORK/readback.raw")
[ "$want" = "$got" ] || fail "checksum after the suite differs"
stop_serve
echo "PASS: conformance $FAMILY"
