#!/usr/bin/env bash
# CHAP with libiscsi: one-way and mutual CHAP succeed with the right secrets,
# fail with a wrong one; failures are logged with the address, rate-limited,
# and no secret ever appears in the log; --allow restricts initiator names.
# Secrets: from files only their owner can read (refused otherwise, with a
# hint that is run as printed) or the environment, never visible in
# /proc/PID/cmdline; a warning when given on the command line; the same
# secret for both directions is refused (RFC 7143 12.1.3). Failed CHAP
# logins are throttled per source address (flood.py from 127.0.0.2).
#   chap.sh UDISC WORKDIR PORT
UDISC=$1 WORK=$2 PORT=$3
source "$(dirname "$0")/lib.sh"
rm -rf "$WORK"; mkdir -p "$WORK"
make_iso "$WORK/tree" "$WORK/test.iso"
SECRET=initiator-secret-123
TSECRET=target-secret-4567
start_serve "$PORT" --chap "alice:$SECRET" --mutual-chap "tgt:$TSECRET" "$WORK/test.iso"
URL="127.0.0.1:$PORT/$IQN/0"
grep -q "warning: --chap puts the secret on the command line" "$WORK/serve.log" || fail "no warning for a secret in argv"
grep -q "warning: --mutual-chap puts the secret on the command line" "$WORK/serve.log" || fail "no warning for --mutual-chap in argv"

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

# Secrets from files: refused while other users can read them; the printed
# hint is run as printed; then not in /proc/PID/cmdline, and no warning.
printf 'alice:%s\n' "$SECRET" > "$WORK/chap.secret"
printf 'tgt:%s\n' "$TSECRET" > "$WORK/mutual.secret"
chmod 644 "$WORK/chap.secret"; chmod 600 "$WORK/mutual.secret"
# POSIX file modes only: UDISC_NO_FILE_MODES is set by tests/windows/iscsi.sh
# for udisc.exe under Wine, which sees no Unix modes on these files.
if [ -z "${UDISC_NO_FILE_MODES:-}" ]; then
rc=0
"$UDISC" serve --listen "127.0.0.1:$PORT" --chap-file "$WORK/chap.secret" "$WORK/test.iso" > "$WORK/mode.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a world-readable --chap-file was accepted (exit $rc)"
grep -q "other users can access it (mode 0644)" "$WORK/mode.out" || { cat "$WORK/mode.out"; fail "no mode error"; }
hint=$(sed -n 's/.*; run: //p' "$WORK/mode.out")
[ "$hint" = "chmod 600 $WORK/chap.secret" ] || fail "unexpected hint '$hint'"
$hint
else
chmod 600 "$WORK/chap.secret"
fi
start_serve "$PORT" --chap-file "$WORK/chap.secret" --mutual-chap-file "$WORK/mutual.secret" "$WORK/test.iso"
if tr '\0' ' ' < "/proc/$SERVE_PID/cmdline" | grep -q -e "$SECRET" -e "$TSECRET"; then fail "a secret is in /proc/PID/cmdline"; fi
if grep -q "command line" "$WORK/serve.log"; then fail "argv warning without a secret in argv"; fi
grep -q "the secret is the one from --chap-file $WORK/chap.secret" "$WORK/serve.out" || fail "serve does not say where the secret came from"
iscsi-inq "iscsi://alice%$SECRET@$URL?target_user=tgt&target_password=$TSECRET" > /dev/null \
  || fail "mutual CHAP with secrets from files failed"

# Failed CHAP logins throttled per address: 30 wrong guesses from 127.0.0.2
# reach CHAP a few times, then are refused at connect; other addresses are
# not affected.
python3 "$(dirname "$0")/flood.py" chap --port "$PORT" --target "$IQN" --count 30 --sources 2-2 \
  --user alice --secret wrong-secret-guess > "$WORK/guess.json"
echo "30 wrong CHAP guesses from 127.0.0.2: $(cat "$WORK/guess.json")"
guessed=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['auth_failed'])" "$WORK/guess.json")
[ "$guessed" -ge 5 ] || fail "only $guessed guesses were checked before the throttle"
[ "$guessed" -le 8 ] || fail "$guessed of 30 guesses were checked: failed CHAP logins are not throttled"
grep -q "127.0.0.2:[0-9]*: connection refused: [0-9]* failed CHAP logins" "$WORK/serve.log" || fail "throttling not logged"
python3 "$(dirname "$0")/flood.py" chap --port "$PORT" --target "$IQN" --count 1 --sources 3-3 \
  --user alice --secret "$SECRET" > "$WORK/other.json"
grep -q '"logged_in": 1' "$WORK/other.json" || fail "another address was throttled too: $(cat "$WORK/other.json")"
iscsi-inq "iscsi://alice%$SECRET@$URL" > /dev/null || fail "127.0.0.1 was throttled by 127.0.0.2's failures"
stop_serve

# The environment instead of a file.
UDISC_CHAP="alice:$SECRET" start_serve "$PORT" "$WORK/test.iso"
iscsi-inq "iscsi://alice%$SECRET@$URL" > /dev/null || fail "CHAP with \$UDISC_CHAP failed"
if iscsi-inq "iscsi://$URL" > /dev/null 2>&1; then fail "\$UDISC_CHAP did not make CHAP required"; fi
stop_serve

# The same secret in both directions is refused at start.
printf 'tgt:%s\n' "$SECRET" > "$WORK/same.secret"; chmod 600 "$WORK/same.secret"
rc=0
"$UDISC" serve --listen "127.0.0.1:$PORT" --chap-file "$WORK/chap.secret" --mutual-chap-file "$WORK/same.secret" \
  "$WORK/test.iso" > "$WORK/same.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "the same secret for CHAP and mutual CHAP was accepted (exit $rc)"
grep -q "RFC 7143 12.1.3 requires different secrets" "$WORK/same.out" || { cat "$WORK/same.out"; fail "no reason given"; }
if grep -q "$SECRET" "$WORK/same.out"; then fail "the refusal prints the secret"; fi

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
