# Runs inside the bench guest (busybox sh), see run.sh: our /dev/srN (udisc
# daemon, TCMU backend) and a loop device of the same ISO, read by the same
# reader, rounds alternating which goes first.
export UDISC_SOCKET=/run/udisc.sock
rounds=$(cat /data/rounds)
reads=$(cat /data/reads)
now() { cut -d' ' -f1 /proc/uptime; }
[ -s /data/profile ] && export UDISC_TCMU_PROFILE=1
udisc daemon --socket $UDISC_SOCKET --state /tmp/udisc-state.json > /tmp/daemon.log 2>&1 &
for i in $(seq 200); do [ -S $UDISC_SOCKET ] && udisc list > /dev/null 2>&1 && break; sleep 0.05; done
# `udisc mount` to a readable /dev/srN: the first mount of the boot (loads the
# kernel modules, mounts configfs) and a second one (what every later mount costs).
mount_timed() {  # mount_timed WHAT: sets node
  t0=$(now)
  node=$(udisc mount /data/bench.iso | tail -n1)
  t1=$(now)
  until dd if="$node" of=/dev/null bs=2048 count=1 2> /dev/null; do sleep 0.01; done
  t2=$(now)
  echo "MOUNT $1 mount-returned $(echo "$t1 $t0" | awk '{printf "%.2f", $1-$2}') s readable $(echo "$t2 $t0" | awk '{printf "%.2f", $1-$2}') s ($node)"
}
mount_timed first
udisc unmount "$node" || exit 1
mount_timed second
[ -b "$node" ] || { cat /tmp/daemon.log; exit 1; }
modprobe loop
loopdev=$(losetup -f)
losetup -r "$loopdev" /data/bench.iso || exit 1
echo "devices: udisc=$node loop=$loopdev"
# The floor under any daemon-served read: a round trip between two processes.
udisc-blockread pingpong 2000 || exit 1
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="loop udisc"; else order="udisc loop"; fi
  for which in $order; do
    if [ $which = loop ]; then dev=$loopdev; else dev=$node; fi
    udisc-blockread bench "$which-$r" "$dev" "$reads" || exit 1
  done
done
grep "tcmu profile" /tmp/daemon.log
losetup -d "$loopdev"
udisc unmount "$node"
