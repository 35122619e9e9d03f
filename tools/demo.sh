#!/usr/bin/env bash
# Builds udisc (default preset), makes a sample disc with xorriso (ISO 9660
# with Rock Ridge, Joliet and an El Torito boot image) and shows what a drive
# would report for it; then converts it to a redump-style BIN/CUE and verifies
# every sector of the result. Everything it makes lives in build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset default >/dev/null
cmake --build --preset default --target udisc -j"$(nproc)"
udisc=build/default/src/cli/udisc

demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/tree/docs" "$demo/bincue"
echo "Hello from uDiscMounter" > "$demo/tree/README.TXT"
cp README.md "$demo/tree/docs/"
head -c 2048 /dev/zero > "$demo/tree/boot.img"
xorriso -as mkisofs -quiet -R -J -V UDISC_DEMO -b boot.img -no-emul-boot -boot-load-size 4 \
  -o "$demo/sample.iso" "$demo/tree"

echo
echo "\$ udisc info $demo/sample.iso"
"$udisc" info "$demo/sample.iso"
echo
echo "\$ udisc convert $demo/sample.iso -o $demo/bincue/sample.cue"
"$udisc" convert "$demo/sample.iso" -o "$demo/bincue/sample.cue"
echo
echo "\$ udisc verify $demo/bincue/sample.cue"
"$udisc" verify "$demo/bincue/sample.cue"
