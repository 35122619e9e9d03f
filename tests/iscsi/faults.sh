#!/usr/bin/env bash
# Load and fault tests with a raw-socket initiator:
#  - 64 sessions reading random LBAs for 10 s, every block verified, while 4
#    stalled initiators never read their answers;
#  - 256 connections across 16 LUNs;
#  - initiators dropping connections mid-transfer;
#  - the image file becoming unreadable while served (MEDIUM ERROR, target stays up);
#  - clean stop on SIGTERM.
#   faults.sh UDISC STRESS WORKDIR PORT
UDISC=$1 STRESS=$2 WORK=$3 PORT=$4
source "$(dirname "$0")/lib.sh"
rm -rf "$WORK"; mkdir -p "$WORK"
make_iso "$WORK/tree" "$WORK/test.iso"
S=(--portal "127.0.0.1:$PORT" --target "$IQN" --image "$WORK/test.iso")

luns=()
for i in $(seq 16); do luns+=("$WORK/test.iso"); done
start_serve "$PORT" "${luns[@]}"
"$STRESS" "${S[@]}" --mode random --sessions 64 --seconds 10 --stalled 4 --depth 4
"$STRESS" "${S[@]}" --mode random --sessions 256 --luns 16 --seconds 5 --depth 1
"$STRESS" "${S[@]}" --mode disconnect --sessions 16
kill -0 "$SERVE_PID" || fail "target died"
stop_serve

# Unreadable while served: truncate the backing file under the running target.
cp "$WORK/test.iso" "$WORK/shrinking.iso"
start_serve "$PORT" "$WORK/shrinking.iso"
blocks=$(( $(stat -c %s "$WORK/shrinking.iso") / 2048 ))
truncate -s $(( blocks / 2 * 2048 )) "$WORK/shrinking.iso"
"$STRESS" --portal "127.0.0.1:$PORT" --target "$IQN" --image "$WORK/test.iso" --mode medium-error --bad-lba $(( blocks - 10 ))
kill -0 "$SERVE_PID" || fail "target died after the medium error"
stop_serve
echo "PASS: faults"
