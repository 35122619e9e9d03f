#!/usr/bin/env bash
# Upgrade and removal with drives in use, on a real kernel: boots the QEMU guest
# of tests/guest with the udisc binary and the package's maintainer scripts
# (debian/udisc.prerm, udisc.postrm) and runs guest_maintainer_checks.sh.
# (The guest is a busybox initramfs without dpkg or systemd: the scripts are run
# as dpkg runs them, and the service restart of an upgrade is done as systemd
# does it: SIGTERM, then the new daemon.)
# usage: guest_maintainer_scripts.sh PATH/TO/udisc SOURCE_DIR [run.sh options...]
# Exit 77 (skipped) when QEMU, xorriso or busybox-static is missing.
set -euo pipefail
udisc="$1"; src="$2"; shift 2
for t in qemu-system-x86_64 xorriso cpio; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[[ -x /bin/busybox ]] || { echo "SKIP: busybox-static not installed"; exit 77; }
work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-maint-guest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
head -c 300000 /dev/urandom >"$work/tree/a.bin"
(cd "$work/tree" && sha256sum a.bin >"$work/sums")
xorriso -as mkisofs -quiet -R -V UDISC_PKG -o "$work/disc.iso" "$work/tree" 2>/dev/null
exec "$src/tests/guest/run.sh" --script "$src/tests/package/guest_maintainer_checks.sh" --bin "$udisc" \
  --file "$work/disc.iso" --file "$work/sums" --file "$src/debian/udisc.prerm:/data/prerm" \
  --file "$src/debian/udisc.postrm:/data/postrm" --no-default-tools --timeout 300 "$@"
