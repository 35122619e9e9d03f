#!/usr/bin/env bash
# The Windows zip (cmake --build build/windows --target package): holds
# udisc.exe, the README and the Windows docs; the udisc.exe unpacked from it
# runs under Wine (--version, doctor naming what Wine lacks).
#   zip.sh WORKDIR
WORK=$1
source "$(dirname "$0")/lib.sh"
setup_wine
command -v unzip >/dev/null || skip "unzip is missing (tools/install-deps.sh installs it)"
build_exe package
zip=$(ls "$SOURCE_DIR"/build/windows/udisc-*-windows-x64.zip)
rm -rf "$WORK"; mkdir -p "$WORK"
unzip -q "$zip" -d "$WORK"
dir=$(ls -d "$WORK"/udisc-*-windows-x64)
for f in udisc.exe README.md docs/windows-build.md; do
  [ -f "$dir/$f" ] || fail "the zip has no $f"
done
"$WINE" "$dir/udisc.exe" --version | tr -d '\r' | grep -qx "udisc 0.1.0" || fail "udisc.exe from the zip does not run"
rc=0
"$WINE" "$dir/udisc.exe" doctor > "$WORK/doctor.txt" 2>&1 || rc=$?
tr -d '\r' < "$WORK/doctor.txt"
[ "$rc" = 69 ] || fail "udisc doctor under Wine exited $rc, expected 69 (no iSCSI initiator)"
grep -q "MISSING  iSCSI initiator API (iscsidsc.dll)" "$WORK/doctor.txt" || fail "doctor does not name the missing initiator"
echo "PASS: $(basename "$zip"): $(unzip -Z1 "$zip" | grep -vc '/$') files, udisc.exe runs"
