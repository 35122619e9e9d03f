# Runs inside the test guest (busybox sh), see openiscsi.sh: open-iscsi
# (iscsid + iscsiadm + the kernel's iscsi_tcp) attaches `udisc serve` on the
# host (10.0.2.2) with the commands the target printed (/data/attach.sh ...).
#   target A, no CHAP: LUN 0 an ISO (/data/sums; later /data/test2.iso, /data/sums2), LUN 1 a mixed-mode BIN/CUE
#   target B, CHAP + mutual CHAP: LUN 0 the first ISO
fails=0
ok() { echo "OK   $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
. /guest_checks.sh
now() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$(now) $1" | awk '{printf "%.1f", $1-$2}'; }
ctl_port=$(cat /data/ctl-port)
# host_action NAME: the host does NAME (a fault); prints its outcome.
host_action() {
  echo "HOST-ACTION $1" >&2  # to the console (stdout is the caller's)
  for i in $(seq 600); do
    wget -q -O /tmp/ctl.out "http://10.0.2.2:$ctl_port/$1" 2> /dev/null && { cat /tmp/ctl.out; return 0; }
    sleep 0.2
  done
  echo "no-answer"
}
# sr_for IQN LUN: the /dev/srN of that LUN of a logged-in session of target IQN.
sr_for() {
  for s in /sys/class/iscsi_session/session*; do
    [ "$(cat "$s/targetname" 2> /dev/null)" = "$1" ] || continue
    for b in "$(readlink -f "$s/device")"/target*/*:*:*:"$2"/block/sr*; do
      [ -e "$b" ] && { echo "/dev/${b##*/}"; return 0; }
    done
  done
  return 1
}
wait_sr() {  # wait_sr IQN LUN: up to 30 s
  for i in $(seq 150); do sr_for "$1" "$2" && return 0; sleep 0.2; done
  return 1
}
verify_mounted() {  # verify_mounted SUMS: every file's sha256, read from the drive (caches dropped)
  sync; echo 3 > /proc/sys/vm/drop_caches
  (cd /mnt && sha256sum -c "$1" > /tmp/sums.out 2>&1) || { cat /tmp/sums.out; return 1; }
}
session_state() { iscsiadm -m session -P 1 2> /dev/null | sed -n 's/.*iSCSI Session State: //p' | head -n1; }

# --- the initiator: network, iscsid
modprobe virtio_net; modprobe iscsi_tcp; modprobe crc32c_generic  # iscsi_tcp asks the crypto API for crc32c per connection
ip link set lo up; ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
mkdir -p /etc/iscsi /run/lock/iscsi /mnt
grep -q "^root:" /etc/passwd 2> /dev/null || echo "root:x:0:0:root:/tmp:/bin/sh" >> /etc/passwd  # iscsid looks its peer up
cp /data/iscsid.conf /etc/iscsi/iscsid.conf
echo "InitiatorName=iqn.2025-01.org.udisc:guest-initiator" > /etc/iscsi/initiatorname.iscsi
iscsid -f > /tmp/iscsid.log 2>&1 &
for i in $(seq 50); do iscsiadm -m session > /dev/null 2>&1; [ $? = 21 ] && break; sleep 0.2; done  # 21: no sessions

IQN=iqn.2025-01.org.udisc:openiscsi
IQN_CHAP=iqn.2025-01.org.udisc:openiscsi-chap

# --- discovery and login, as printed by udisc serve
t0=$(now)
echo "running /data/attach.sh:"; cat /data/attach.sh
if sh -ex /data/attach.sh && wait_sr $IQN 0 && wait_sr $IQN 1; then
  ok discovery-login
  echo "MEASURE login-to-sr: $(since "$t0") s"
else
  bad discovery-login "the printed iscsiadm commands did not attach both LUNs"; cat /tmp/iscsid.log; dmesg | tail -20
  exit 1
fi
sr0=$(sr_for $IQN 0); sr1=$(sr_for $IQN 1)
echo "LUN 0: $sr0, LUN 1: $sr1"
[ "$(cat /sys/block/${sr0#/dev/}/device/type)" = 5 ] && ok sr-cdrom || bad sr-cdrom "$sr0 is not a CD-ROM"

if mount -t iso9660 -o ro "$sr0" /mnt && verify_mounted /data/sums; then ok iso-checksums; else bad iso-checksums "$sr0"; fi
check_cdparanoia "$sr1"

# --- medium change while mounted: the locked tray keeps its disc
r=$(host_action change-locked)
if [ "$r" = refused ] && verify_mounted /data/sums; then ok medium-change-locked
else bad medium-change-locked "host: $r; the mounted disc must stay readable"; fi
umount /mnt
r=$(host_action change-unlocked)
mounted=0
for i in $(seq 25); do mount -t iso9660 -o ro "$sr0" /mnt 2> /dev/null && { mounted=1; break; }; sleep 0.2; done
if [ "$r" = changed ] && [ $mounted = 1 ] && verify_mounted /data/sums2; then ok medium-change
else bad medium-change "host: $r, mounted $mounted: the new disc must mount with its own files"; fi

# --- 30 s of concurrent readers through the kernel path, every block compared
if udisc-blockread verify "$sr0" /data/test2.iso 30 4; then ok concurrent-readers
else bad concurrent-readers "a block differed or a read failed"; fi

# --- the target killed and restarted while logged in and mounted
r=$(host_action restart-target)
t0=$(now)
for i in $(seq 600); do [ "$(session_state)" = LOGGED_IN ] && break; sleep 0.2; done
state=$(session_state)
echo "MEASURE session-recovery: $(since "$t0") s after the restarted target listened ($state)"
if [ "$r" = relogged ] && [ "$state" = LOGGED_IN ] && verify_mounted /data/sums2; then ok target-restart
else bad target-restart "host: $r, session $state; dmesg:"; dmesg | tail -15; fi
umount /mnt

# --- CHAP (one-way and mutual) with the commands printed by the CHAP target
echo "running /data/attach-chap.sh (secrets filled in)"
if sh -e /data/attach-chap.sh && wait_sr $IQN_CHAP 0; then
  srchap=$(sr_for $IQN_CHAP 0)
  if mount -t iso9660 -o ro "$srchap" /mnt && verify_mounted /data/sums; then ok chap-login; else bad chap-login "$srchap"; fi
  umount /mnt
else
  bad chap-login "the printed iscsiadm commands did not attach the CHAP target"; tail /tmp/iscsid.log
fi

# --- logout, as printed
sh -ex /data/detach.sh && sh -ex /data/detach-chap.sh
for i in $(seq 50); do ls /dev/sr* > /dev/null 2>&1 || break; sleep 0.2; done
if ls /dev/sr* > /dev/null 2>&1; then bad logout "$(ls /dev/sr*) still there"; else ok logout; fi
dmesg | grep -i -E "iscsi|I/O error" | tail -20
[ $fails = 0 ]
