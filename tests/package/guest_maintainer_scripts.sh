#!/usr/bin/env bash
# Upgrade and removal with drives in use, on a real kernel: boots the QEMU guest
# of tests/guest with the udisc binary and the package's maintainer scripts
# (debian/udisc.prerm, udisc.postrm) and runs guest_maintainer_checks.sh.
# (The guest is a busybox initramfs without dpkg or systemd: the scripts are run
# as dpkg runs them, and the service restart of an upgrade is done as systemd
# does it: SIGTERM, then the new daemon.)
# usage: guest_maintainer_scripts.sh PATH/TO/udisc SOURCE_DIR [run.sh options...]
# Exit 77 (skipped) when QEMU, xorriso or busybox-static is missing.
udisc="$1"; src="$2"; shift 2
source "$src/tests/guest/lib.sh"
guest_setup maint-guest
mkdir -p "$work/tree"
head -c 300000 /dev/urandom >"$work/tree/a.bin"
guest_iso UDISC_PKG "$work/tree" "$work/disc.iso" "$work/sums"
guest_run --script "$src/tests/package/guest_maintainer_checks.sh" --bin "$udisc" \
  --file "$work/disc.iso" --file "$work/sums" --file "$src/debian/udisc.prerm:/data/prerm" \
  --file "$src/debian/udisc.postrm:/data/postrm" --no-default-tools --timeout 300 "$@"
