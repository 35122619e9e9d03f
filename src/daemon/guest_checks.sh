# Guest side of the daemon checks (run by tests/guest/run.sh inside the VM, see
# guest_test.sh): the defaults as the hints print them (no options, no
# /var/lib/udisc nor /run/udisc yet), the custom-socket start hint as printed,
# tools/demo.sh (its mount and its `udisc unmount <drive>` hint), a BIN/CUE with two files (TOC, isofs checksums, audio track
# ripped bit-exact), doctor, identity change seen by the kernel, a second
# uid in group udisc (own drive, no access to root's, restored as itself after
# kill -9), SIGTERM
# keeping the drive, kill -9 with a lost state file removing stale devices.
fails=0
ok() { echo "CHECK $1: ok"; }
bad() { echo "CHECK $1: FAIL $2"; fails=$((fails + 1)); }
CFG=/sys/kernel/config/target
mkdir -p /mnt /tmp/cue
cp /data/data.bin /data/audio.bin /data/disc.cue /tmp/cue/

# ---- The defaults, as a new user meets them (issue 11 section 1): no
# --socket, no --state, on a root file system where neither /var/lib/udisc
# nor /run/udisc exists. The commands run are the ones the hints print: the
# daemon's start command is read from `udisc mount`'s own message. The guest
# runs as root, so `sudo` is a shim that runs its arguments.
printf '#!/bin/sh\nexec "$@"\n' > /bin/sudo && chmod 755 /bin/sudo
[ ! -e /var/lib/udisc ] && [ ! -e /run/udisc ] && ok defaults-fresh-root || bad defaults-fresh-root "$(ls -d /var/lib/udisc /run/udisc 2>&1)"
# The examples of `udisc COMMAND --help`, with files of those names.
mkdir -p /tmp/ex && cd /tmp/ex
cp /data/disc.cue game.cue && cp /data/data.bin /data/audio.bin . && cp /data/data.bin disc2.iso && cp /data/data.bin backup.iso
hint=$(udisc mount game.cue 2>&1); rc=$?
echo "$hint"
start_cmd=$(echo "$hint" | sed -n 's/.*Run `\([^`]*\)` in another terminal.*/\1/p')
[ $rc = 69 ] && [ "$start_cmd" = "sudo udisc daemon" ] && ok defaults-hint || bad defaults-hint "rc=$rc cmd='$start_cmd'"
$start_cmd >> /tmp/default-daemon.log 2>&1 &   # "in another terminal"
ddpid=$!
for i in $(seq 200); do udisc list >/dev/null 2>&1 && break; sleep 0.05; done
udisc doctor; [ $? = 0 ] && ok defaults-doctor || bad defaults-doctor "exit status"
dn=$(udisc mount game.cue 2>&1 | tail -n1); echo "udisc mount game.cue -> $dn"
[ "$dn" = /dev/sr0 ] && ok defaults-mount || bad defaults-mount "$dn: $(cat /tmp/default-daemon.log)"
if mount /dev/sr0 /mnt && (cd /mnt && sha256sum -c /data/sums >/dev/null); then ok example-mount-sr0; else bad example-mount-sr0 ""; fi
umount /mnt
udisc eject /dev/sr0 && udisc list | grep -q open && ok example-eject || bad example-eject "$(udisc list)"
udisc insert /dev/sr0 disc2.iso && udisc list | grep -q /tmp/ex/disc2.iso &&
  dd if=/dev/sr0 bs=2048 skip=16 count=1 2>/dev/null | grep -q CD001 && ok example-insert || bad example-insert "$(udisc list)"
udisc identity 0 --vendor PIONEER --product 'DVD-RW DVR-112' && sleep 0.5 &&
  sg_inq "$(udisc list --json | sed -n 's/.*"device": "\(\/dev\/sr[0-9]*\)".*/\1/p' | head -1)" | grep -q "DVD-RW DVR-112" &&
  ok example-identity || bad example-identity "$(udisc identity 0 2>&1)"
udisc mount --drive 2 backup.iso && udisc list --json | grep -q '"drive": 2' && ok example-mount-drive || bad example-mount-drive ""
udisc list --json > /tmp/list.json && grep -q backup.iso /tmp/list.json && ok example-list-json || bad example-list-json ""
ls -ld /var/lib/udisc /run/udisc /run/udisc/control.sock
[ "$(stat -c '%a %u' /var/lib/udisc)" = "700 0" ] && [ "$(stat -c '%a %u' /run/udisc)" = "755 0" ] &&
  [ -f /var/lib/udisc/state.json ] && ok defaults-folders || bad defaults-folders "$(stat -c '%n %a %u' /var/lib/udisc /run/udisc)"
udisc unmount 0 && udisc unmount 2 && [ -z "$(ls /dev/sr* 2>/dev/null)" ] && ok example-unmount || bad example-unmount "$(ls /dev/sr*)"
cd /
kill -TERM $ddpid; wait $ddpid
# A state folder others can write is refused, naming it.
chmod 777 /var/lib/udisc
out=$($start_cmd 2>&1); rc=$?
echo "$out"
[ $rc = 69 ] && echo "$out" | grep -q "/var/lib/udisc.*writable by other users" && ok defaults-refuse-writable ||
  bad defaults-refuse-writable "rc=$rc"
chmod 700 /var/lib/udisc

# The start command the no-daemon hint prints for a custom socket (the
# documented form, TMP standing for the folder), run as printed.
hint=$(UDISC_SOCKET=/tmp/none.sock udisc list 2>&1)
custom_cmd=$(echo "$hint" | sed -n 's/.*Run `\([^`]*\)` in another terminal.*/\1/p')
if [ "$custom_cmd" = "$(echo 'sudo udisc daemon --socket TMP/none.sock' | sed 's|TMP|/tmp|')" ]; then
  $custom_cmd >> /tmp/custom-daemon.log 2>&1 &
  cpid=$!
  for i in $(seq 200); do UDISC_SOCKET=/tmp/none.sock udisc list >/dev/null 2>&1 && break; sleep 0.05; done
  UDISC_SOCKET=/tmp/none.sock udisc list | grep -q "no drives" && ok hint-custom-socket ||
    bad hint-custom-socket "$(cat /tmp/custom-daemon.log)"
  kill -TERM $cpid; wait $cpid
else bad hint-custom-socket "hint: $hint"; fi

# tools/demo.sh, as root on a kernel with TCMU: it makes the sample, shows
# info/convert/verify, starts a daemon and mounts the sample on a /dev/srN
# (`udisc mount DEMO/sample.iso`); then its hint `udisc unmount <drive>`, as
# printed. UDISC=/bin/udisc: the guest has no compiler.
out=$(cd /src && UDISC=/bin/udisc bash tools/demo.sh 2>&1); rc=$?
echo "$out" | tail -n 12
demo_drive=$(udisc list | awk '/sample.iso/ {print $1}')
demo_dev=$(udisc list | awk '/sample.iso/ {print $2}')
if [ $rc = 0 ] && echo "$out" | grep -q '^\$ udisc mount build/demo/sample.iso$' && [ -b "$demo_dev" ] &&
  mount -t iso9660 -o ro "$demo_dev" /mnt && grep -q "Hello from uDiscMounter" /mnt/README.TXT; then
  ok demo-mounts-sample
else bad demo-mounts-sample "rc=$rc dev='$demo_dev'"; fi
umount /mnt 2>/dev/null
rm_hint=$(echo "$out" | sed -n 's/^Remove it with: .*udisc \(unmount <drive>\) .*/udisc \1/p')
if [ "$rm_hint" = "udisc unmount <drive>" ] && [ -n "$demo_drive" ]; then
  rm_cmd=$(echo "$rm_hint" | sed "s/<drive>/$demo_drive/")
  $rm_cmd && [ ! -b "$demo_dev" ] && ok demo-unmount-hint || bad demo-unmount-hint "$rm_cmd: $(udisc list)"
else bad demo-unmount-hint "hint '$rm_hint', drive '$demo_drive'"; fi
# The demo leaves its daemon running, as it says; this test stops it.
demo_pid=$(pidof udisc)
[ -n "$demo_pid" ] && kill -TERM $demo_pid
for i in $(seq 100); do [ -z "$(pidof udisc)" ] && break; sleep 0.05; done

export UDISC_SOCKET=/run/udisc.sock
STATE=/tmp/state.json
start_daemon() {
  udisc daemon --socket $UDISC_SOCKET --state $STATE >> /tmp/daemon.log 2>&1 &
  dpid=$!
  for i in $(seq 200); do [ -S $UDISC_SOCKET ] && udisc list >/dev/null 2>&1 && return 0; sleep 0.05; done
  cat /tmp/daemon.log; return 1
}
start_daemon && ok start || bad start ""
udisc doctor; [ $? = 0 ] && ok doctor || bad doctor "exit status"
t0=$(cut -d' ' -f1 /proc/uptime)
n=$(udisc mount /tmp/cue/disc.cue 2>&1 | tail -n1); echo "mount cue -> $n"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "MEASURE udisc-mount-to-node: $(echo "$t1 $t0" | awk '{printf "%.2f s", $1-$2}')"
if [ -b "$n" ]; then ok cue-node; else bad cue-node "$n"; fi
cd-info --no-header --no-device-info --no-cddb "$n" 2>&1 | sed -n '/CD-ROM Track List/,/leadout/p'
tracks=$(cd-info --no-header --no-device-info --no-cddb "$n" 2>/dev/null | grep -cE '^ +[0-9]+: [0-9:]+ +[0-9]+ (data|audio)')
[ "$tracks" = 2 ] && ok cue-toc || bad cue-toc "tracks=$tracks"
if mount -t iso9660 -o ro "$n" /mnt && (cd /mnt && sha256sum -c /data/sums >/dev/null); then ok cue-files; else bad cue-files ""; fi
umount /mnt
(cd /tmp && cdparanoia -q -d "$n" 2 /tmp/t2.wav 2>/tmp/cdp.err)
if tail -c +45 /tmp/t2.wav | cmp - /tmp/cue/audio.bin; then ok cue-audio-bitexact; else bad cue-audio-bitexact "$(head -3 /tmp/cdp.err)"; fi
udisc status "$n"
# identity: the kernel probes again and reports the new vendor/product
out=$(udisc identity "$n" --vendor PLEXTOR --product "PX-760A" --revision 1.07 2>&1); echo "$out"
n2=$(udisc list | awk '$1=="0"{print $2}')
sg_inq "$n2" | grep -E "Vendor|Product|revision"
sg_inq "$n2" | grep -q PLEXTOR && sg_inq "$n2" | grep -q PX-760A && ok identity || bad identity "$n2"
cat /sys/block/$(basename $n2)/device/vendor /sys/block/$(basename $n2)/device/model
# Another user, in group udisc: mounts an image of its own, cannot touch
# root's drive nor send a file it cannot read; after a restart its image is
# reopened with its own rights.
if command -v su >/dev/null; then
  grep -q '^user1:' /etc/passwd 2>/dev/null || echo "user1:x:1000:1000::/tmp:/bin/sh" >> /etc/passwd
  grep -q '^udisc:' /etc/group 2>/dev/null || { echo "user1:x:1000:" >> /etc/group; echo "udisc:x:1001:user1" >> /etc/group; }
  mkdir -p /tmp/u && cp /tmp/cue/data.bin /tmp/u/mine.iso && cp /tmp/cue/data.bin /tmp/u/secret.iso
  chown 1000:1000 /tmp/u/mine.iso && chmod 600 /tmp/u/mine.iso /tmp/u/secret.iso
  kill -TERM $dpid; wait $dpid; start_daemon  # the socket now gets group udisc
  ls -l $UDISC_SOCKET
  un=$(su -s /bin/sh user1 -c "UDISC_SOCKET=$UDISC_SOCKET udisc mount /tmp/u/mine.iso" 2>&1 | tail -n1)
  echo "user1: udisc mount -> $un"
  [ -b "$un" ] && dd if="$un" bs=2048 skip=16 count=1 2>/dev/null | grep -q CD001 && ok user-mount || bad user-mount "$un"
  out=$(su -s /bin/sh user1 -c "UDISC_SOCKET=$UDISC_SOCKET udisc eject 0" 2>&1); rc=$?
  [ $rc = 77 ] && ok user-not-owner || bad user-not-owner "rc=$rc $out"
  echo "  $out"
  out=$(su -s /bin/sh user1 -c "UDISC_SOCKET=$UDISC_SOCKET udisc mount /tmp/u/secret.iso" 2>&1); rc=$?
  [ $rc != 0 ] && echo "$out" | grep -q "Permission denied" && ok user-unreadable || bad user-unreadable "rc=$rc $out"
  kill -9 $dpid; wait $dpid 2>/dev/null; start_daemon
  udisc list
  udisc list --json | grep -q '"owner_uid": 1000' && udisc list | grep -q /tmp/u/mine.iso &&
    dd if="$un" bs=2048 skip=16 count=1 2>/dev/null | grep -q CD001 && ok user-restored || bad user-restored ""
  su -s /bin/sh user1 -c "UDISC_SOCKET=$UDISC_SOCKET udisc unmount $un" && ok user-unmount || bad user-unmount ""
else
  echo "SKIP: no su in the guest"
fi

# ---- A disc on a web server (issue 13): the host's nginx, reached as
# 10.0.2.2 through QEMU's user network. The daemon reads the URL on demand;
# the kernel mounts it through TCMU and every file's checksum matches.
if [ -f /data/url ]; then
  modprobe virtio_net; ip link set lo up; ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
  url=$(cat /data/url)
  urln=$(udisc mount "$url" 2>&1 | tail -n1); echo "udisc mount $url -> $urln"
  if [ -b "$urln" ] && mount -t iso9660 -o ro "$urln" /mnt && (cd /mnt && sha256sum -c /data/sums >/dev/null); then
    ok url-mount-files
  else
    bad url-mount-files "$urln: $(tail -n3 /tmp/daemon.log)"
  fi
  umount /mnt 2>/dev/null
  udisc status | grep -q "version   ETag" && udisc list | grep -q "$url" && ok url-status || bad url-status "$(udisc status)"
  udisc unmount "$urln" && ok url-unmount || bad url-unmount ""
else
  echo "SKIP: no web server on the host (nginx not installed)"
fi

# SIGTERM keeps the drive; restart brings it back with its image
kill -TERM $dpid; wait $dpid
ls $CFG/core/user_*/ 2>/dev/null
[ -b "$n2" ] && ok term-keeps-device || bad term-keeps-device "node gone"
t0=$(cut -d' ' -f1 /proc/uptime)
start_daemon
t1=$(cut -d' ' -f1 /proc/uptime)
echo "MEASURE restart-to-serving (1 drive adopted): $(echo "$t1 $t0" | awk '{printf "%.2f s", $1-$2}')"
if udisc list | grep -q "/tmp/cue/disc.cue" && dd if="$n2" bs=2048 skip=16 count=1 2>/dev/null | grep -q CD001; then ok term-restart; else bad term-restart "$(udisc list)"; fi
# kill -9 and a lost state file: the restarted daemon removes what it has no record of
kill -9 $dpid; wait $dpid 2>/dev/null
rm -f $STATE
start_daemon
sleep 0.5
left=$(ls /dev/sr* 2>/dev/null)
if [ -z "$left" ] && [ -z "$(ls -d $CFG/core/user_*/udisc_* 2>/dev/null)" ]; then ok stale-removed; else bad stale-removed "left: $left $(ls $CFG/core/user_*/ 2>/dev/null)"; fi
udisc list
kill -TERM $dpid; wait $dpid
tail -8 /tmp/daemon.log
echo "CHECKS FAILED: $fails"
exit $fails
