# Guest side of the daemon checks (run by tests/guest/run.sh inside the VM, see
# guest_test.sh): a BIN/CUE with two files (TOC, isofs checksums, audio track
# ripped bit-exact), doctor, identity change seen by the kernel, SIGTERM
# keeping the drive, kill -9 with a lost state file removing stale devices.
fails=0
ok() { echo "CHECK $1: ok"; }
bad() { echo "CHECK $1: FAIL $2"; fails=$((fails + 1)); }
export UDISC_SOCKET=/run/udisc.sock
STATE=/tmp/state.json
CFG=/sys/kernel/config/target
start_daemon() {
  udisc daemon --socket $UDISC_SOCKET --state $STATE >> /tmp/daemon.log 2>&1 &
  dpid=$!
  for i in $(seq 200); do [ -S $UDISC_SOCKET ] && udisc list >/dev/null 2>&1 && return 0; sleep 0.05; done
  cat /tmp/daemon.log; return 1
}
mkdir -p /mnt /tmp/cue
cp /data/data.bin /data/audio.bin /data/disc.cue /tmp/cue/
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
