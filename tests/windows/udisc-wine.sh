#!/usr/bin/env bash
# udisc.exe under Wine as a drop-in for the Linux udisc binary, so the iSCSI
# end-to-end scripts (tests/iscsi/*.sh UDISC ...) run unchanged against the
# Windows build: `udisc-wine.sh serve ...` is `udisc.exe serve ...`.
# Windows has no SIGTERM (Wine ends the process at once on it); the scripts
# stop the server with SIGTERM and expect a clean stop, so a SIGTERM or SIGINT
# to this script becomes Ctrl+C for udisc.exe, which Wine delivers to its
# console control handler - the way a Windows user stops `udisc serve`.
# Environment: as set by lib.sh's setup_wine and build_exe (WINE, WINEPREFIX,
# UDISC_EXE); exported by the CMake test that uses this script.
set -uo pipefail
"$WINE" "$UDISC_EXE" "$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null' TERM INT
status=0
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
