#!/usr/bin/env bash
# Load-and-abuse tests of `udisc serve` before login (issue 11, D4 and D5),
# loopback only, each flood bounded in count and time (flood.py):
#  - 1100 idle connections from 20 addresses under `ulimit -n 1024`: the
#    target stays idle (CPU), logs a bounded number of lines, holds at most
#    its cap of connections before login, and a libiscsi login from another
#    address still works during the flood; one address alone gets at most
#    its per-address cap;
#  - logged-in sessions exhausting `ulimit -n 128`: accept() fails with
#    EMFILE, the target backs off instead of spinning, the warning is
#    rate-limited, and a login works again once the flood is gone;
#  - 1500 connections announcing 256 KiB login segments, then 1500 announcing
#    8 KiB ones and sending nothing more: the resident size stays bounded.
# Prints the figures it asserts on.
#   abuse.sh UDISC WORKDIR PORT
UDISC=$1 WORK=$2 PORT=$3
FLOOD=(python3 "$(dirname "$0")/flood.py" --port "$PORT" --target iqn.2025-01.org.udisc:e2e)
source "$(dirname "$0")/lib.sh"
rm -rf "$WORK"; mkdir -p "$WORK"
make_iso "$WORK/tree" "$WORK/test.iso"
URL="iscsi://127.0.0.1:$PORT/$IQN/0"
HZ=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
fds() { ls "/proc/$SERVE_PID/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
log_lines() { wc -l < "$WORK/serve.log"; }
# busy_percent SECONDS: the target's CPU use over that many seconds, in % of one core.
busy_percent() {
  local t0 t1
  t0=$(cpu_ticks); sleep "$1"; t1=$(cpu_ticks)
  echo $(( (t1 - t0) * 100 / HZ / $1 ))
}
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# --- D4: idle connections under ulimit -n 1024 ---
SERVE_NOFILE=1024 start_serve "$PORT" "$WORK/test.iso"
lines0=$(log_lines)
"${FLOOD[@]}" idle --count 1100 --sources 2-21 --hold 6 > "$WORK/idle.json" &
flood=$!
sleep 2
busy=$(busy_percent 2)
open_fds=$(fds)
timeout 10 iscsi-inq "$URL" > "$WORK/inq-during-flood.txt" || fail "a libiscsi login from 127.0.0.1 failed during the idle flood"
grep -q "Peripheral Device Type:MMC" "$WORK/inq-during-flood.txt" || fail "no INQUIRY data during the idle flood"
wait "$flood"
lines=$(( $(log_lines) - lines0 ))
kept=$(json "$WORK/idle.json" kept)
echo "idle flood: 1100 connections from 20 addresses, ulimit -n 1024: target CPU ${busy}%, $open_fds descriptors, $kept connections kept, $lines log lines"
[ "$busy" -le 20 ] || fail "the target used ${busy}% CPU during the idle flood"
[ "$kept" -le 512 ] || fail "$kept idle connections kept; the cap before login is 512 at ulimit -n 1024"
[ "$open_fds" -le 540 ] || fail "$open_fds descriptors open during the idle flood"
[ "$lines" -le 200 ] || fail "$lines log lines during the idle flood"
grep -q "closed before login to make room for other initiators" "$WORK/serve.log" || fail "no eviction logged when the table was full"

stop_serve

# One address alone: its cap (a fresh target, so that the refusals are not
# hidden by the rate limit the first flood used up).
start_serve "$PORT" "$WORK/test.iso"
"${FLOOD[@]}" idle --count 300 --sources 2-2 --hold 1 > "$WORK/one.json"
kept=$(json "$WORK/one.json" kept)
echo "idle flood from one address: 300 connections, $kept kept"
[ "$kept" -le 64 ] || fail "one address kept $kept connections before login (cap 64)"
grep -q "connection refused: 64 connections from this address have not finished login" "$WORK/serve.log" \
  || fail "the per-address refusal is not logged"
kill -0 "$SERVE_PID" || fail "target died"
stop_serve

# --- D4: descriptors exhausted by logged-in sessions: back off on EMFILE ---
# Not in the sanitizer build (UDISC_SANITIZED, set by CMake): UBSan's own vptr
# check opens descriptors, so in a process with none left it reports a false
# "invalid vptr" and, with -fno-sanitize-recover, ends the target.
if [ -n "${UDISC_SANITIZED:-}" ]; then
  echo "session flood at ulimit -n 128: skipped in the sanitizer build (UBSan needs descriptors of its own)"
else
  SERVE_NOFILE=128 start_serve "$PORT" "$WORK/test.iso"
  "${FLOOD[@]}" session --count 200 --sources 2-11 --hold 4 > "$WORK/sessions.json" &
  flood=$!
  sleep 2.5
  busy=$(busy_percent 2)
  open_fds=$(fds)
  wait "$flood"
  warnings=$(grep -c "accept: Too many open files" "$WORK/serve.log" || true)
  echo "session flood: 200 logins at ulimit -n 128: target CPU ${busy}%, $open_fds descriptors," \
       "$(json "$WORK/sessions.json" logged_in) sessions logged in, $warnings EMFILE warnings logged"
  [ "$busy" -le 20 ] || fail "the target used ${busy}% CPU while out of descriptors (EMFILE spin)"
  [ "$warnings" -ge 1 ] || fail "EMFILE not reported"
  [ "$warnings" -le 12 ] || fail "$warnings EMFILE warnings: not rate-limited"
  timeout 10 iscsi-inq "$URL" > /dev/null || fail "login failed after the session flood ended"
  stop_serve

fi

# --- D5: login segments announced but not sent ---
start_serve "$PORT" "$WORK/test.iso"
rss0=$(rss_kb)
"${FLOOD[@]}" login --segment 262144 --count 1500 --sources 2-31 --hold 2 > "$WORK/big.json" &
flood=$!
sleep 1.5
rss_big=$(rss_kb)
wait "$flood"
kept=$(json "$WORK/big.json" kept)
"${FLOOD[@]}" login --segment 8192 --count 1500 --sources 2-31 --hold 3 > "$WORK/small.json" &
flood=$!
sleep 2
rss_small=$(rss_kb)
wait "$flood"
echo "login floods: RSS ${rss0} kB at start; 1500 x 256 KiB announced: ${rss_big} kB ($kept kept);" \
     "1500 x 8 KiB announced: ${rss_small} kB ($(json "$WORK/small.json" kept) kept)"
[ "$kept" = 0 ] || fail "$kept connections announcing 256 KiB login segments were kept (limit 8192)"
grep -q "DataSegmentLength 262144 exceeds MaxRecvDataSegmentLength 8192" "$WORK/serve.log" \
  || fail "the oversized login segment is not named in the log"
[ "$rss_big" -le $(( rss0 + 40000 )) ] || fail "RSS grew from $rss0 to $rss_big kB under the 256 KiB login flood"
[ "$rss_small" -le $(( rss0 + 40000 )) ] || fail "RSS grew from $rss0 to $rss_small kB under the 8 KiB login flood"
timeout 10 iscsi-inq "$URL" > /dev/null || fail "login failed after the login floods"
stop_serve
echo "PASS: abuse"
