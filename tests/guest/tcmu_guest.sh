# Guest side of the TCMU end-to-end test (run by run.sh inside the VM).
# Needs /bin/udisc-tcmu-tool, /data/test.iso and /data/sums (sha256 of every
# file, relative paths). Prints "CHECK <name>: ok|FAIL ..." per check and
# exits non-zero if any failed.
fails=0
ok() { echo "CHECK $1: ok"; }
bad() { echo "CHECK $1: FAIL $2"; fails=$((fails + 1)); }
TOOL="udisc-tcmu-tool ${UDISC_TOOL_ARGS:-}"
CFG=/sys/kernel/config/target

# Starts "serve"/"adopt" in the background; sets $pid and $node.
start() {  # start serve|adopt NAME IMAGE LOG
  udisc-tcmu-tool "$1" "$2" "$3" ${UDISC_TOOL_ARGS:-} > "$4" 2>&1 &
  pid=$!
  node=""
  for i in $(seq 300); do
    node=$(sed -n 's/^NODE //p' "$4")
    [ -n "$node" ] && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  cat "$4"
  return 1
}
# Checksums of every file of the mounted disc.
verify_files() { (cd /mnt && sha256sum -c /data/sums >/tmp/sums.out 2>&1) || { cat /tmp/sums.out; return 1; }; }
clean_configfs() {
  [ -z "$(ls $CFG/loopback 2>/dev/null | grep -v -e discovery_auth -e version)" ] &&
  [ -z "$(ls -d $CFG/core/user_* 2>/dev/null)" ]
}

# 1. the kernel offers what local drives need
if udisc-tcmu-tool doctor; then ok doctor; else bad doctor "kernel support check"; fi

# 2. create a drive: /dev/srN appears, isofs mounts it, every file matches
t0=$(cut -d' ' -f1 /proc/uptime)
if start serve udisc_a /data/test.iso /tmp/a.log && [ -b "$node" ]; then
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "MEASURE create-to-node: $(echo "$t1 $t0" | awk '{printf "%.2f s", $1-$2}')"
  ok create
else
  bad create "no block device"; echo "GUEST: cannot continue"; exit 1
fi
echo "drive node: $node"
sg_inq "$node" | sed -n 's/^ *\(Peripheral device type\|Vendor identification\|Product identification\).*/&/p'
[ "$(cat /sys/block/${node#/dev/}/device/type)" = 5 ] && ok type-cdrom || bad type-cdrom "scsi type $(cat /sys/block/${node#/dev/}/device/type)"
if mount -t iso9660 -o ro "$node" /mnt && verify_files; then ok iso-checksums; else bad iso-checksums "mount or checksum"; fi

# 2b. LUN reset (sg_reset -d) while mounted: the target core's own unit
#     attention after the reset never fails a read
if command -v sg_reset >/dev/null; then
  sg_reset -d "$node" >/dev/null 2>&1 || echo "note: sg_reset failed"
  sync; echo 3 > /proc/sys/vm/drop_caches
  if verify_files; then ok lun-reset-reads; else bad lun-reset-reads "reads after a LUN reset"; fi
fi

# 3. raw reads: the whole device equals the image, and throughput
size=$(stat -c %s /data/test.iso)
sync; echo 3 > /proc/sys/vm/drop_caches
t0=$(cut -d' ' -f1 /proc/uptime)
dd if="$node" of=/tmp/raw.img bs=64k 2>/dev/null
t1=$(cut -d' ' -f1 /proc/uptime)
echo "MEASURE sequential read $size bytes: $(echo "$t1 $t0 $size" | awk '{d=$1-$2; if (d<=0) d=0.01; printf "%.2f s, %.1f MB/s", d, $3/d/1e6}')"
if cmp /tmp/raw.img /data/test.iso; then ok raw-read; else bad raw-read "device content differs from the image"; fi
rm -f /tmp/raw.img

# 4. kill -9 of the server while mounted; adopt brings the drive back, reads still match
kill -9 $pid; wait $pid 2>/dev/null
sync; echo 3 > /proc/sys/vm/drop_caches
if start adopt udisc_a /data/test.iso /tmp/a2.log; then
  apid=$pid
  if verify_files; then ok crash-adopt; else bad crash-adopt "reads after adoption"; fi
  [ "$node" = "$(sed -n 's/^NODE //p' /tmp/a2.log)" ] || bad crash-adopt-node "node changed"
else
  bad crash-adopt "adopt failed"
fi

# 4b. kill -9 while a read waits in the ring (server stopped first): after
#     adoption the read completes with the right data, no error reaches it
sync; echo 3 > /proc/sys/vm/drop_caches
kill -STOP $apid
(cmp "$node" /data/test.iso > /tmp/cmp.out 2>&1; echo $? > /tmp/cmp.rc) &
cmppid=$!
sleep 1
[ -s /tmp/cmp.rc ] && echo "note: read finished before the server stopped"
kill -9 $apid; wait $apid 2>/dev/null
if start adopt udisc_a /data/test.iso /tmp/a3.log; then
  apid=$pid
  wait $cmppid
  if [ "$(cat /tmp/cmp.rc)" = 0 ]; then ok crash-inflight; else bad crash-inflight "$(cat /tmp/cmp.out)"; fi
else
  bad crash-inflight "adopt failed"
fi
dmesg | grep -E "sr0|I/O error" | tail -5
umount /mnt

# 5. several drives at once, each with its own node and correct data
pids=""
for n in b c d; do
  if start serve udisc_$n /data/test.iso /tmp/$n.log; then pids="$pids $pid"; else bad multi "drive $n"; fi
done
nodes=$(sed -n 's/^NODE //p' /tmp/a2.log /tmp/b.log /tmp/c.log /tmp/d.log | sort -u | wc -l)
[ "$nodes" = 4 ] && ok multi-nodes || bad multi-nodes "$nodes distinct nodes for 4 drives"
for f in /tmp/b.log /tmp/c.log /tmp/d.log; do
  n=$(sed -n 's/^NODE //p' $f)
  (dd if=$n bs=64k 2>/dev/null | sha256sum > $f.sum) &
done
want=$(sha256sum < /data/test.iso)
for f in /tmp/b.log /tmp/c.log /tmp/d.log; do
  for i in $(seq 300); do [ -s $f.sum ] && break; sleep 0.1; done
  [ "$(cat $f.sum)" = "$want" ] || bad multi-read "$f: $(cat $f.sum)"
done
ok multi-read

# 6. removal: SIGTERM removes the drive, its node and its configfs objects
for p in $pids; do kill -TERM $p; done
for p in $pids; do wait $p; done
grep -h REMOVED /tmp/b.log /tmp/c.log /tmp/d.log | wc -l | grep -q 3 && ok remove || bad remove "$(cat /tmp/b.log)"

# 7. a server that leaves its drive (SIGUSR1) then remove-stale: takes the ring over, tears down in order
kill -USR1 $apid; wait $apid
udisc-tcmu-tool scan
if udisc-tcmu-tool remove-stale && [ ! -e "$node" ] && clean_configfs; then ok remove-stale; else bad remove-stale "left: $(find $CFG/core $CFG/loopback -maxdepth 2)"; fi

# 8. nothing left behind, and no read ever failed
ls /dev/sr* 2>/dev/null && bad clean "device nodes left" || ok clean
errs=$(dmesg | grep -c "I/O error")
[ "$errs" = 0 ] && ok no-io-errors || bad no-io-errors "$errs I/O errors in the kernel log"

# 9. the daemon and CLI, when the udisc binary was included
if command -v udisc >/dev/null; then . /udisc_guest.sh; fi
dmesg | grep -i -E "tcmu|target_core|sr 0|blocked for more" | tail -20
echo "CHECKS FAILED: $fails"
exit $fails
