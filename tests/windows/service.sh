#!/usr/bin/env bash
# The udisc Windows service under Wine, end to end (docs/windows.md):
#  1. the Windows builds of the unit tests: the control pipe (DACL, caller
#     identity, handle duplication), the service controller with the loopback
#     iSCSI targets, the attach logic (fake initiator);
#  2. udisc.exe: `service --foreground --fake-initiator` answering the pipe;
#     mount → list (two clients) → eject → insert → unmount; a missing image;
#     the state file brings the drive back after the service is killed;
#  3. `udisc service install` under Wine's service control manager, `doctor`,
#     a mount refused with the reason (Wine has no iscsidsc.dll), uninstall.
# Exit 77 (skipped) only where Wine or mingw-w64 is missing.
#   service.sh WORK_DIR
set -euo pipefail
WINE_WORK=${1:?work dir}
source "$(dirname "$0")/lib.sh"
setup_wine
rm -rf "$WINE_WORK" && mkdir -p "$WINE_WORK"

# Build udisc.exe and the Windows unit tests (one build at a time in the tree).
start=$SECONDS
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
(
  flock 9
  [ -f "$SOURCE_DIR/build/windows/build.ninja" ] || cmake -S "$SOURCE_DIR" --preset windows "${launcher[@]}" >/dev/null
  cmake --build "$SOURCE_DIR/build/windows" --target udisc win_attach_test win_control_pipe_test \
    win_service_controller_test >/dev/null
) 9>"$SOURCE_DIR/build/windows/.build.lock" || fail "cross build failed (cmake --build build/windows)"
echo "udisc.exe and the Windows tests up to date in $((SECONDS - start)) s"
EXE_DIR=$SOURCE_DIR/build/windows/src/daemon/windows
UDISC_EXE=$SOURCE_DIR/build/windows/src/cli/udisc.exe

# 1. Unit tests built for Windows.
for t in win_attach_test win_control_pipe_test win_service_controller_test; do
  out=$("$WINE" "$EXE_DIR/$t.exe" 2>&1) || { echo "$out"; fail "$t.exe failed under Wine"; }
  echo "$out" | grep -E '^\[  PASSED  \]' | sed "s/^/$t: /"
done

# Text-mode stdout on Windows ends lines with CR LF.
udisc() { "$WINE" "$UDISC_EXE" "$@" | tr -d '\r'; }
winpath() { echo "Z:${1//\//\\}"; }

# A disc with a file on it.
mkdir -p "$WINE_WORK/src"
echo "hello from the disc" >"$WINE_WORK/src/hello.txt"
genisoimage -quiet -R -J -o "$WINE_WORK/disc.iso" "$WINE_WORK/src"
ISO=$(winpath "$WINE_WORK/disc.iso")
STATE=$(winpath "$WINE_WORK/state/state.json")

# 2. The service in the foreground with the fake initiator, on a pipe of our own.
export UDISC_PIPE="\\\\.\\pipe\\udisc-test-$$"
SVC_PID=
stop_service() {
  if [ -n "$SVC_PID" ]; then kill "$SVC_PID" 2>/dev/null || true; wait "$SVC_PID" 2>/dev/null || true; fi
  SVC_PID=
}
start_service() {
  "$WINE" "$UDISC_EXE" service --foreground --fake-initiator --state "$STATE" >>"$WINE_WORK/service.log" 2>&1 &
  SVC_PID=$!
  # Wine starts a process in about a second, far slower on a loaded machine.
  for _ in $(seq 150); do udisc list >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$WINE_WORK/service.log"
  fail "the service did not answer on $UDISC_PIPE"
}
cleanup() {
  stop_service
  unset UDISC_PIPE
  "$WINE" "$UDISC_EXE" service uninstall >/dev/null 2>&1 || true
}
trap cleanup EXIT

set +e
out=$(udisc list 2>&1); rc=$?
set -e
[ $rc -eq 69 ] || fail "list without a service: exit $rc, expected 69"
grep -q "^udisc: the udisc service is not running" <<<"$out" || fail "list without a service said: $out"

start_service
json=$(udisc mount --json "$ISO")
echo "mount --json: $json"
python3 - "$json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert d["letter"] == "E:", d
assert d["device"] == "\\\\.\\CdRom1", d
assert d["drive"] == 0, d
EOF
second=$(udisc mount "$ISO" 2>&1) || true
[ "$second" = "F:" ] || fail "a second mount printed: $second"
# Two clients at once.
udisc list >"$WINE_WORK/list1" & l1=$!
udisc list >"$WINE_WORK/list2"
wait $l1
cmp -s "$WINE_WORK/list1" "$WINE_WORK/list2" || fail "two clients saw different lists"
grep -q "^0 *E: .*disc.iso" "$WINE_WORK/list1" || { cat "$WINE_WORK/list1"; fail "list lacks E:"; }
grep -q "^1 *F: " "$WINE_WORK/list1" || fail "list lacks F:"
# The target behind E: listens on 127.0.0.1 only.
udisc status E: >"$WINE_WORK/status"
grep -q '"portal": "127.0.0.1:' "$WINE_WORK/status" || { cat "$WINE_WORK/status"; fail "portal not on 127.0.0.1"; }
[ "$(udisc eject E:)" = "E: tray open" ] || fail "eject E:"
udisc status E: | grep -q '"medium": false' || fail "medium still present after eject"
[ "$(udisc insert E: "$ISO")" = "E:" ] || fail "insert E:"
udisc status E: | grep -q '"medium": true' || fail "no medium after insert"
# A new identity: the drive is logged out and in again with the same disc.
letter=$(udisc identity 0 --vendor PLEXTOR --serial S123) || fail "identity 0"
[[ $letter =~ ^[D-Z]:$ ]] || fail "identity printed '$letter', not a drive letter"
udisc status 0 | grep -q '"vendor": "PLEXTOR"' || { udisc status 0; fail "the new identity is not shown"; }
udisc status 0 | grep -q '"medium": true' || fail "the disc did not stay in after the identity change"
udisc unmount F:
# A cue sheet: its track file goes to the service as a second handle.
printf 'FILE "disc.iso" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n' >"$WINE_WORK/disc.cue"
[ "$(udisc mount "$(winpath "$WINE_WORK/disc.cue")")" = "F:" ] || fail "mount disc.cue did not print F:"
udisc status F: | grep -q '"format": "cue"' || { udisc status F:; fail "F: is not the cue image"; }
udisc unmount F:
set +e
out=$(udisc mount "$(winpath "$WINE_WORK/missing.iso")" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "mount of a missing image: exit $rc, expected 1"
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^udisc: .*missing.iso" <<<"$out" || fail "missing image said: $out"
[ "$(udisc list | wc -l)" -eq 1 ] || fail "a failed mount left a drive behind"

# The service dies (no shutdown); the next start brings E: back from the state file.
stop_service
start_service
udisc list | grep -q "^0 *E: .*disc.iso" || { udisc list; fail "E: not restored from the state file"; }
udisc unmount E:
[ -z "$(udisc list)" ] || fail "drives left after unmount"
stop_service
unset UDISC_PIPE

# 3. Under Wine's service control manager, with the real initiator (absent here).
udisc service install
set +e
out=$(udisc doctor 2>&1); rc=$?
set -e
echo "$out"
[ $rc -eq 69 ] || fail "doctor under Wine: exit $rc, expected 69 (no iSCSI initiator)"
grep -q "ok       the udisc service answers on its pipe" <<<"$out" || fail "doctor did not reach the installed service"
grep -q "Mount-DiskImage" <<<"$out" || fail "doctor did not name Mount-DiskImage"
set +e
out=$(udisc mount "$ISO" 2>&1); rc=$?
set -e
[ $rc -eq 69 ] || fail "mount without an initiator: exit $rc, expected 69"
grep -q "^udisc: iscsidsc.dll .* not on this system" <<<"$out" || fail "mount without an initiator said: $out"
udisc service uninstall
set +e
udisc list >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 69 ] || fail "the service still answers after uninstall"
echo "PASS: service, pipe and drive commands under Wine"
