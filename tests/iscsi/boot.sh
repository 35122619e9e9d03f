#!/usr/bin/env bash
# QEMU's firmware (SeaBIOS) boots an El Torito (no-emulation) ISO served by
# udisc serve, through QEMU's iSCSI driver (-device scsi-cd with bootindex on
# virtio-scsi). The boot image is a 26-byte real-mode program written here: it
# prints a marker on COM1 and leaves QEMU through isa-debug-exit. With "url"
# as fourth argument the ISO is read from a URL on a local nginx.
#   boot.sh UDISC WORKDIR PORT [url]
UDISC=$1 WORK=$2 PORT=$3 SOURCE=${4:-file}
source "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || exit 77
rm -rf "$WORK"; mkdir -p "$WORK/tree"
# xor ax,ax; mov ds,ax; cld; mov dx,3F8h; mov si,7C1Ah
# next: lodsb; test al,al; jz done; out dx,al; jmp next
# done: mov al,2Ah; out 0F4h,al; hlt; jmp $-1    ; message at offset 26
printf '\x31\xc0\x8e\xd8\xfc\xba\xf8\x03\xbe\x1a\x7c\xac\x84\xc0\x74\x03\xee\xeb\xf8\xb0\x2a\xe6\xf4\xf4\xeb\xfd' > "$WORK/tree/boot.bin"
printf 'UDISC-ELTORITO-BOOT-OK\r\n\0' >> "$WORK/tree/boot.bin"
truncate -s 2048 "$WORK/tree/boot.bin"
echo "payload" > "$WORK/tree/readme.txt"
xorriso -as mkisofs -quiet -R -J -b boot.bin -no-emul-boot -boot-load-size 4 -o "$WORK/boot.iso" "$WORK/tree" 2>/dev/null
if [ "$SOURCE" = url ]; then
  start_nginx "$WORK" $((PORT + 1000))
  start_serve "$PORT" "http://127.0.0.1:$((PORT + 1000))/boot.iso"
else
  start_serve "$PORT" "$WORK/boot.iso"
fi
rc=0
timeout 120 qemu-system-x86_64 -accel tcg -m 128 -nographic -nodefaults -no-reboot -serial stdio -monitor none \
  -device virtio-scsi-pci,id=scsi0 \
  -drive "driver=iscsi,transport=tcp,portal=127.0.0.1:$PORT,target=$IQN,lun=0,if=none,id=cd0,readonly=on" \
  -device scsi-cd,drive=cd0,bus=scsi0.0,bootindex=0 \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 -boot strict=on < /dev/null > "$WORK/console.log" 2>&1 || rc=$?
stop_serve
stop_nginx
tr -d '\r' < "$WORK/console.log" | tail -5
# isa-debug-exit: status (0x2A << 1) | 1 = 85.
[ "$rc" = 85 ] || fail "guest did not run the boot image (qemu exit $rc)"
grep -q "UDISC-ELTORITO-BOOT-OK" "$WORK/console.log" || fail "boot marker missing on the serial console"
echo "PASS: El Torito boot ($SOURCE)"
