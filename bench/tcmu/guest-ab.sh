# Runs inside the bench guest (busybox sh) for `run.sh ... VARIANT...`: each
# round reads the loop device, then our drive once per variant
# (/data/variants: "LABEL SCHEDULER DAEMON [VAR=VALUE ...]" per line), the
# order of the variants rotating from round to round. Each variant gets its
# own daemon (the binary DAEMON, started with those variables) and mount;
# SCHEDULER ("-": as the daemon left it) is written to the drive's queue.
export UDISC_SOCKET=/run/udisc.sock
rounds=$(cat /data/rounds)
reads=$(cat /data/reads)
[ -s /data/profile ] && export UDISC_TCMU_PROFILE=1
modprobe loop
loopdev=$(losetup -f)
losetup -r "$loopdev" /data/bench.iso || exit 1
udisc-blockread pingpong 2000 || exit 1
nv=$(wc -l < /data/variants)
start_variant() {  # start_variant LINE: sets node and dpid
  set -- $1
  sched=$2; daemon=$3; shift 3
  env "$@" $daemon daemon --socket $UDISC_SOCKET --state /tmp/udisc-state.json >> /tmp/daemon.log 2>&1 &
  dpid=$!
  for i in $(seq 400); do [ -S $UDISC_SOCKET ] && udisc list > /dev/null 2>&1 && break; sleep 0.05; done
  node=$(udisc mount /data/bench.iso | tail -n1)
  until dd if="$node" of=/dev/null bs=2048 count=1 2> /dev/null; do sleep 0.01; done
  [ "$sched" = - ] || echo "$sched" > /sys/block/${node#/dev/}/queue/scheduler
}
stop_variant() {
  udisc unmount "$node"
  kill $dpid
  wait $dpid
  rm -f $UDISC_SOCKET
}
for r in $(seq "$rounds"); do
  udisc-blockread bench "loop-$r" "$loopdev" "$reads" || exit 1
  for k in $(seq $nv); do
    line=$(sed -n "$(((k + r) % nv + 1))p" /data/variants)
    start_variant "$line"
    echo "variant ${line%% *}: $(cat /sys/block/${node#/dev/}/queue/scheduler)"
    udisc-blockread bench "${line%% *}-$r" "$node" "$reads" || { cat /tmp/daemon.log; exit 1; }
    stop_variant
  done
done
grep "tcmu profile" /tmp/daemon.log
losetup -d "$loopdev"
