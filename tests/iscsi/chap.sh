#!/usr/bin/env bash
# CHAP with libiscsi: one-way and mutual CHAP succeed with the right secrets,
# fail with a wrong one; failures are logged with the address, rate-limited,
# and no secret ever appears in the log; --allow restricts initiator names.
#   chap.sh UDISC WORKDIR PORT
UDISC=$1 WORK=$2 PORT=$3
source "$(dirname "$0")/lib.sh"
rm -rf "$WORK"; mkdir -p "$WORK"
make_iso "$WORK/tree" "$WORK/test.iso"
SECRET=initiator-secret-123
TSECRET=target-secret-4567
start_serve "$PORT" --chap "alice:$SECRET" --mutual-chap "tgt:$TSECRET" "$WORK/test.iso"
URL="127.0.0.1:$PORT/$IQN/0"

iscsi-inq "iscsi://alice%$SECRET@$URL" > "$WORK/inq.txt" || fail "one-way CHAP with the right secret failed"
grep -q "Peripheral Device Type:MMC" "$WORK/inq.txt" || fail "no INQUIRY data after CHAP"
iscsi-inq "iscsi://alice%$SECRET@$URL?target_user=tgt&target_password=$TSECRET" > /dev/null \
  || fail "mutual CHAP with the right secrets failed"
if iscsi-inq "iscsi://alice%$SECRET@$URL?target_user=tgt&target_password=wrong-target-pw" > /dev/null 2>&1; then
  fail "mutual CHAP accepted a target that answered with other credentials"
fi
if iscsi-inq "iscsi://$URL" > /dev/null 2>&1; then fail "login without CHAP accepted"; fi
for i in $(seq 12); do
  if iscsi-inq "iscsi://alice%wrong-secret-$i@$URL" > /dev/null 2>&1; then fail "wrong secret accepted"; fi
done
logged=$(grep -c "CHAP authentication failed from 127.0.0.1" "$WORK/serve.log" || true)
echo "failed CHAP logins logged: $logged of 12"
[ "$logged" -ge 1 ] || fail "failed authentication not logged"
[ "$logged" -le 6 ] || fail "failed authentication logging is not rate-limited ($logged lines)"
if grep -q -e "$SECRET" -e "$TSECRET" -e "wrong-secret" "$WORK/serve.log" "$WORK/serve.out"; then
  fail "a CHAP secret appears in the output"
fi
stop_serve

# --allow: only the listed initiator name may log in.
start_serve "$PORT" --allow iqn.2025-01.org.example:only-me "$WORK/test.iso"
if iscsi-inq "iscsi://127.0.0.1:$PORT/$IQN/0" > /dev/null 2>&1; then fail "--allow let another initiator in"; fi
iscsi-inq -i iqn.2025-01.org.example:only-me "iscsi://127.0.0.1:$PORT/$IQN/0" > /dev/null || fail "--allow refused the listed initiator"
stop_serve

# IPv6 loopback.
if [ -e /proc/net/if_inet6 ]; then
  "$UDISC" serve --listen "[::1]:$PORT" --iqn "$IQN" "$WORK/test.iso" > "$WORK/serve.out" 2> "$WORK/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 50); do grep -q "Serving until" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "iscsi://\[::1\]:$PORT/$IQN/0" "$WORK/serve.out" || fail "IPv6 URL not printed"
  iscsi-inq "iscsi://[::1]:$PORT/$IQN/0" > /dev/null || fail "INQUIRY over IPv6 failed"
  stop_serve
fi
echo "PASS: chap"
