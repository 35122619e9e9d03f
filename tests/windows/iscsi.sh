#!/usr/bin/env bash
# Runs one of the iSCSI end-to-end scripts of tests/iscsi against udisc.exe
# serving under Wine (through udisc-wine.sh in place of the Linux binary).
#   iscsi.sh SCRIPT ARGS...   e.g. iscsi.sh conformance.sh WORKDIR PORT iSCSI
# Exit 77 (skip) without Wine or mingw-w64, or when SCRIPT itself skips.
script=$1; shift
source "$(dirname "$0")/lib.sh"
setup_wine
build_exe
export WINE WINEPREFIX WINEDEBUG UDISC_EXE
# The owner-only check of secret files is POSIX file modes (chap.sh skips it).
export UDISC_NO_FILE_MODES=1
exec bash "$SOURCE_DIR/tests/iscsi/$script" "$SOURCE_DIR/tests/windows/udisc-wine.sh" "$@"
