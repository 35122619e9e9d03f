#!/usr/bin/env bash
# Linux's own iSCSI initiator (open-iscsi: iscsid + iscsiadm, the kernel's
# iscsi_tcp) against `udisc serve`, in a QEMU guest (Debian's kernel, TCG)
# that reaches the host's 127.0.0.1 as 10.0.2.2 through QEMU's user network.
# The guest runs the iscsiadm commands exactly as `udisc serve` prints them
# (CHAP secrets filled into their SECRET / MUTUAL_SECRET placeholders).
# Guest checks: tests/iscsi/openiscsi_guest.sh. Faults the guest asks for
# with a "HOST-ACTION <name>" console line are done here, and acknowledged
# by a file the guest fetches from a loopback HTTP server (python3).
#   openiscsi.sh UDISC MAKE_MIXED_CUE UDISC_BLOCKREAD WORKDIR PORT   (uses PORT, PORT+1, PORT+2)
# Exit 77 = skipped (no QEMU).
UDISC=$1 MIXED=$2 BLOCKREAD=$3 WORK=$4 PORT=$5
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
command -v qemu-system-x86_64 > /dev/null || exit 77
for t in iscsid iscsiadm python3 xorriso; do
  command -v "$t" > /dev/null || [ -x "/usr/sbin/$t" ] || fail "$t is not installed (tools/install-deps.sh installs it)"
done
ISCSID=$(command -v iscsid || echo /usr/sbin/iscsid)
ISCSIADM=$(command -v iscsiadm || echo /usr/sbin/iscsiadm)
CHAP_PORT=$((PORT + 1)) CTL_PORT=$((PORT + 2))
SECRET=guest-initiator-secret TSECRET=guest-target-secret-2
rm -rf "$WORK"; mkdir -p "$WORK/tree" "$WORK/tree2" "$WORK/ctl"

# Two discs: the first is served at start, the second replaces it (medium change).
head -c 12000000 /dev/urandom > "$WORK/tree/random.bin"
seq 1 100000 > "$WORK/tree/numbers.txt"
xorriso -as mkisofs -quiet -R -J -V UDISC_ONE -o "$WORK/test.iso" "$WORK/tree" 2> /dev/null
(cd "$WORK/tree" && sha256sum random.bin numbers.txt > "$WORK/sums")
head -c 9000000 /dev/urandom > "$WORK/tree2/second.bin"
echo "the second disc" > "$WORK/tree2/readme.txt"
xorriso -as mkisofs -quiet -R -J -V UDISC_TWO -o "$WORK/test2.iso" "$WORK/tree2" 2> /dev/null
(cd "$WORK/tree2" && sha256sum second.bin readme.txt > "$WORK/sums2")
make_mixed_track2 "$MIXED" "$WORK/test.iso"
cp "$WORK/test.iso" "$WORK/lun0.iso"

# Target A (no CHAP): LUN 0 the ISO, LUN 1 the mixed-mode BIN/CUE.
serve_a=(--advertise "10.0.2.2:$PORT" "$WORK/lun0.iso" "$WORK/mixed/mixed.cue")
IQN=iqn.2025-01.org.udisc:openiscsi SERVE_NAME=serve-a start_serve "$PORT" "${serve_a[@]}"
PID_A=$SERVE_PID
# Target B: one-way and mutual CHAP.
IQN=iqn.2025-01.org.udisc:openiscsi-chap SERVE_NAME=serve-b start_serve "$CHAP_PORT" --advertise "10.0.2.2:$CHAP_PORT" \
  --chap "guest:$SECRET" --mutual-chap "udisc-target:$TSECRET" "$WORK/test.iso"
PID_B=$SERVE_PID
SERVE_PID=""
HTTP_PID=""
trap 'kill -KILL $PID_A $PID_B $HTTP_PID 2> /dev/null || true' EXIT

# The commands `udisc serve` printed, as files the guest runs with sh -e.
printed() {  # printed OUT-FILE SECTION-HEADER: the indented command lines under the header
  awk -v h="$2" 'index($0, h) == 1 { on = 1; next } on && /^  iscsiadm / { sub(/^  /, ""); print; next } { on = 0 }' "$1"
}
printed "$WORK/serve-a.out" "Linux (open-iscsi" > "$WORK/attach.sh"
printed "$WORK/serve-a.out" "Linux, to detach" > "$WORK/detach.sh"
printed "$WORK/serve-b.out" "Linux (open-iscsi" | sed -e "s/MUTUAL_SECRET/$TSECRET/g" -e "s/SECRET/$SECRET/g" > "$WORK/attach-chap.sh"
printed "$WORK/serve-b.out" "Linux, to detach" > "$WORK/detach-chap.sh"
for f in attach detach attach-chap detach-chap; do
  [ -s "$WORK/$f.sh" ] || { cat "$WORK/serve-a.out" "$WORK/serve-b.out"; fail "udisc serve printed no iscsiadm lines ($f)"; }
  sed "s/^/  $f: /" "$WORK/$f.sh"
done

python3 -m http.server --bind 127.0.0.1 --directory "$WORK/ctl" "$CTL_PORT" > "$WORK/http.log" 2>&1 &
HTTP_PID=$!
echo "$CTL_PORT" > "$WORK/ctl-port"
grep -v '^iscsid.startup' /etc/iscsi/iscsid.conf > "$WORK/iscsid.conf"

# wait_log FILE TEXT: up to 20 s for TEXT in FILE.
wait_log() {
  for _ in $(seq 200); do grep -q "$2" "$1" && return 0; sleep 0.1; done
  return 1
}
host_action() {  # the faults the guest asks for; the outcome in RESULT
  case "$1" in
    change-locked | change-unlocked)  # SIGHUP with test2.iso in LUN 0's place (mv: a new file)
      [ -f "$WORK/lun0.next" ] || { cp "$WORK/test2.iso" "$WORK/lun0.next"; mv "$WORK/lun0.next" "$WORK/lun0.iso"; }
      local before
      before=$(grep -c "LUN 0: medium change" "$WORK/serve-a.log" || true)
      kill -HUP "$PID_A"
      for _ in $(seq 100); do [ "$(grep -c "LUN 0: medium change" "$WORK/serve-a.log")" -gt "$before" ] && break; sleep 0.1; done
      if grep "LUN 0: medium change" "$WORK/serve-a.log" | tail -n1 | grep -q "refused"; then RESULT=refused; else RESULT=changed; fi
      ;;
    restart-target)  # kill -9, 3 s down, the same command line again
      kill -KILL "$PID_A"; wait "$PID_A" 2> /dev/null || true
      mv "$WORK/serve-a.log" "$WORK/serve-a.log.1"
      sleep 3
      IQN=iqn.2025-01.org.udisc:openiscsi SERVE_NAME=serve-a start_serve "$PORT" "${serve_a[@]}"
      PID_A=$SERVE_PID; SERVE_PID=""
      if wait_log "$WORK/serve-a.log" "normal session logged in"; then RESULT=relogged; else RESULT=no-login; fi
      ;;
    *) RESULT="unknown-action" ;;
  esac
}

args=(--script "$here/openiscsi_guest.sh" --timeout 420 --memory 1024 --log "$WORK/console.log"
  --bin "$ISCSID" --bin "$ISCSIADM" --bin "$BLOCKREAD"
  --file "$here/guest_checks.sh:/guest_checks.sh" --file "$WORK/iscsid.conf"
  --file "$WORK/sums" --file "$WORK/sums2" --file "$WORK/test2.iso" --file "$WORK/track2.pcm" --file "$WORK/track2.len"
  --file "$WORK/ctl-port")
for f in attach detach attach-chap detach-chap; do args+=(--file "$WORK/$f.sh"); done
: > "$WORK/console.log"
"$here/../guest/run.sh" "${args[@]}" -- -netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile= > /dev/null &
GUEST_PID=$!
handled=0
while kill -0 "$GUEST_PID" 2> /dev/null; do
  mapfile -t actions < <(sed -n 's/^HOST-ACTION \([a-z-]*\).*/\1/p' "$WORK/console.log")
  while [ "$handled" -lt "${#actions[@]}" ]; do
    a=${actions[$handled]}
    RESULT=""
    host_action "$a"
    echo "host: $a -> $RESULT"
    echo "$RESULT" > "$WORK/ctl/$a"
    handled=$((handled + 1))
  done
  sleep 0.2
done
rc=0; wait "$GUEST_PID" || rc=$?
grep -E "^(OK|FAIL|MEASURE) " "$WORK/console.log" || true
kill -TERM "$PID_B"; wait "$PID_B" 2> /dev/null || true
if grep -q -e "$SECRET" -e "$TSECRET" "$WORK"/serve-*.log* "$WORK"/serve-*.out; then fail "a CHAP secret appears in udisc serve's output"; fi
[ "$rc" = 0 ] || { tail -n 40 "$WORK/console.log"; fail "guest checks failed (rc $rc)"; }
echo "PASS: openiscsi"
