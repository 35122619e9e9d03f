#!/usr/bin/env bash
# Builds udisc (default preset), makes a sample disc with xorriso (ISO 9660
# with Rock Ridge, Joliet and an El Torito boot image) and shows what a drive
# would report for it; then converts it to a redump-style BIN/CUE and verifies
# every sector of the result. Everything it makes lives in build/demo/.
# Last, the main job: the sample becomes a drive. Where this kernel can give a
# local /dev/srN (target_core_user + tcm_loop, as `udisc doctor` checks) and we
# run as root, a daemon is started and the sample mounted there; otherwise the
# sample is served over iSCSI in the foreground (Ctrl-C stops it), with the
# commands to attach it from an initiator or a VM. It says which and why.
# UDISC=PATH runs that udisc binary instead of building one (the daemon's
# guest test runs the demo so, in a VM that has no compiler).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${UDISC:-}" ]; then
  cmake --preset default >/dev/null
  cmake --build --preset default --target udisc -j"$(nproc)"
fi
udisc=${UDISC:-build/default/src/cli/udisc}

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

echo
doctor_ok=0
"$udisc" doctor > "$demo/doctor.txt" 2>&1 || doctor_ok=$?
if [ "$doctor_ok" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
  echo "This kernel offers local drives (udisc doctor): mounting the sample as a real /dev/srN."
  if ! "$udisc" list >/dev/null 2>&1; then
    "$udisc" daemon --state "$demo/state.json" > "$demo/daemon.log" 2>&1 &
    for _ in $(seq 100); do "$udisc" list >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "\$ udisc mount $demo/sample.iso"
  "$udisc" mount "$demo/sample.iso"
  "$udisc" list
  echo "Remove it with: $udisc unmount <drive>   (the daemon keeps running; its log: $demo/daemon.log)"
else
  if [ "$doctor_ok" -eq 0 ]; then
    why="this kernel could, but local drives need root (run tools/demo.sh with sudo)"
  else
    missing=$(awk '$1 == "[--]" && $2 == "module" { print $3 } $1 == "[--]" && $2 == "configfs" { print "configfs" }' \
              "$demo/doctor.txt" | paste -sd, - || true)
    why="this kernel lacks ${missing:-what local drives need} (details: udisc doctor)"
  fi
  echo "No local /dev/srN: $why."
  echo "Serving the sample over iSCSI instead, with the commands to attach it (Ctrl-C stops):"
  echo "\$ udisc serve $demo/sample.iso"
  exec "$udisc" serve "$demo/sample.iso"
fi
