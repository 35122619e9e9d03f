# Guest side of guest_maintainer_scripts.sh: with a disc mounted from a udisc
# drive, an upgrade (prerm upgrade, then the service restart) keeps the drive and
# the mounted file system; the drive stays locked across daemon restarts
# (SIGTERM and kill -9: `udisc eject` refused naming the reason, until umount);
# removal refuses while the file system is mounted (and while the kernel has
# drives but no daemon answers), saying why; after umount it removes every
# drive; purge removes the state directory.
fails=0
ok() { echo "CHECK $1: ok"; }
bad() { echo "CHECK $1: FAIL $2"; fails=$((fails + 1)); }
CFG=/sys/kernel/config/target
mkdir -p /run/udisc /var/lib/udisc /mnt
start_daemon() {  # what udisc.service runs (ExecStart), with the default socket and state
  udisc daemon --backend tcmu --state /var/lib/udisc/state.json >>/tmp/daemon.log 2>&1 &
  dpid=$!
  for i in $(seq 200); do udisc list >/dev/null 2>&1 && return 0; sleep 0.05; done
  cat /tmp/daemon.log; return 1
}
start_daemon && ok start || bad start ""
dev=$(udisc mount /data/disc.iso 2>&1 | tail -n1)
if [ -b "$dev" ] && mount -t iso9660 -o ro "$dev" /mnt && (cd /mnt && sha256sum -c /data/sums >/dev/null); then
  ok mounted
else bad mounted "$dev"; fi

# A mounted drive is locked: eject is refused, naming the reason and the fix.
eject_refused() {  # CHECK-NAME
  out=$(udisc eject 0 2>&1); rc=$?
  echo "  udisc eject 0 -> $rc: $out"
  if [ $rc != 0 ] && echo "$out" | grep -q "locked" && echo "$out" | grep -q "umount $dev" &&
    [ "$(udisc list --json | grep -c '"locked": true')" = 1 ] && (cd /mnt && sha256sum -c /data/sums >/dev/null); then
    ok "$1"
  else bad "$1" "rc=$rc $(udisc list 2>&1)"; fi
}
eject_refused eject-refused-while-mounted

# Removal refused while mounted, naming the drive and its device.
out=$(sh /data/prerm remove 2>&1); rc=$?
echo "$out"
if [ $rc != 0 ] && echo "$out" | grep -q "umount" && echo "$out" | grep -q "0 ($dev)" && udisc list | grep -q /data/disc.iso; then
  ok remove-refused-while-mounted
else bad remove-refused-while-mounted "rc=$rc"; fi

# Upgrade: the old package's prerm, then (dh_installsystemd's postinst) the
# service restart, here by hand: SIGTERM and the new daemon.
sh /data/prerm upgrade 0.1.0 && ok prerm-upgrade || bad prerm-upgrade "exit status $?"
t0=$(cut -d' ' -f1 /proc/uptime)
kill -TERM $dpid; wait $dpid
start_daemon
t1=$(cut -d' ' -f1 /proc/uptime)
echo "MEASURE restart-after-upgrade: $(echo "$t1 $t0" | awk '{printf "%.2f s", $1-$2}')"
echo 3 >/proc/sys/vm/drop_caches
if udisc list | grep -q /data/disc.iso && (cd /mnt && sha256sum -c /data/sums >/dev/null); then
  ok upgrade-keeps-drive-and-mount
else bad upgrade-keeps-drive-and-mount "$(udisc list 2>&1)"; fi

# The kernel does not lock the drive again: the new daemon knows it is locked.
eject_refused eject-refused-after-sigterm-restart
# Removal after the upgrade, still mounted: refused, with the reason.
out=$(sh /data/prerm remove 2>&1); rc=$?
echo "$out"
if [ $rc != 0 ] && echo "$out" | grep -q "locked by a mounted file system" && echo "$out" | grep -q "0 ($dev)" &&
  udisc list | grep -q /data/disc.iso; then
  ok remove-refused-while-mounted-after-upgrade
else bad remove-refused-while-mounted-after-upgrade "rc=$rc"; fi
# A crash (kill -9) and a restart: still locked, still refused.
kill -9 $dpid; wait $dpid 2>/dev/null
start_daemon
eject_refused eject-refused-after-kill9-restart
# Unmounted, the kernel allows removal again (seen by this daemon, and kept
# across one more crash): eject works.
umount /mnt
kill -9 $dpid; wait $dpid 2>/dev/null
start_daemon
out=$(udisc eject 0 2>&1); rc=$?
echo "  udisc eject 0 -> $rc: $out"
[ $rc = 0 ] && udisc list --json | grep -q '"tray": "open"' && [ "$(udisc list --json | grep -c '"locked": true')" = 0 ] &&
  ok eject-after-umount || bad eject-after-umount "rc=$rc $(udisc list 2>&1)"

# No daemon but drives in the kernel: refused, with the reason.
kill -TERM $dpid; wait $dpid
out=$(sh /data/prerm remove 2>&1); rc=$?
echo "$out"
[ $rc != 0 ] && echo "$out" | grep -q "no daemon answers" && ok remove-refused-without-daemon ||
  bad remove-refused-without-daemon "rc=$rc"

# With the daemon back and nothing mounted: every drive goes.
start_daemon
if sh /data/prerm remove && udisc list | grep -q "no drives" && [ ! -b "$dev" ] &&
  [ -z "$(ls -d $CFG/core/user_*/udisc_* 2>/dev/null)" ]; then
  ok remove-leaves-no-drive
else bad remove-leaves-no-drive "$(udisc list 2>&1; ls $CFG/core/user_* 2>&1)"; fi
kill -TERM $dpid; wait $dpid
sh /data/postrm purge && [ ! -e /var/lib/udisc ] && ok purge || bad purge "$(ls -la /var/lib/udisc 2>&1)"
echo "maintainer-script checks failed: $fails"
[ $fails = 0 ]
