#!/usr/bin/env bash
# udisc.exe serve under Wine against the Linux udisc serve: same 1 GiB ISO,
# same client (qemu-img bench through QEMU's libiscsi driver), interleaved in
# one run by bench/iscsi/run.sh. What the Windows event loop (Winsock,
# WSAPoll) costs here, Wine's own overhead included, so no goal.
#   bench/windows/run.sh [LINUX_UDISC] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
linux_udisc=$(realpath "${1:-$here/../../build/default/src/cli/udisc}")
rounds=${2:-3}
source "$here/../../tests/windows/lib.sh"
setup_wine
build_exe
export WINE WINEPREFIX WINEDEBUG UDISC_EXE
BASELINE_UDISC=$linux_udisc BASELINE_LABEL="udisc (Linux)" UDISC_LABEL="udisc.exe (Wine)" \
  exec "$here/../iscsi/run.sh" "$SOURCE_DIR/tests/windows/udisc-wine.sh" "$rounds"
