# Shared helpers for the iSCSI end-to-end tests (sourced).
#   UDISC=path/to/udisc STRESS=path/to/iscsi_stress WORK=scratch dir
set -euo pipefail

IQN=iqn.2025-01.org.udisc:e2e
SERVE_PID=""

fail() { echo "FAIL: $*" >&2; exit 1; }

# make_iso DIR OUT: a small ISO9660+Joliet+RR image with random content.
make_iso() {
  local dir=$1 out=$2
  mkdir -p "$dir"
  head -c 12000000 /dev/urandom > "$dir/random.bin"
  echo "hello from udisc" > "$dir/hello.txt"
  xorriso -as mkisofs -quiet -R -J -o "$out" "$dir" 2>/dev/null
}

# start_serve PORT ARGS...: starts udisc serve in the background and waits until it listens.
# Its output goes to $WORK/$SERVE_NAME.out and .log (SERVE_NAME defaults to "serve").
# With SERVE_NOFILE set, the target runs under `ulimit -n $SERVE_NOFILE` (soft and hard).
start_serve() {
  local port=$1; shift
  local name=${SERVE_NAME:-serve}
  (
    if [ -n "${SERVE_NOFILE:-}" ]; then ulimit -n "$SERVE_NOFILE"; fi
    exec "$UDISC" serve --listen "127.0.0.1:$port" --iqn "$IQN" "$@"
  ) > "$WORK/$name.out" 2> "$WORK/$name.log" &
  SERVE_PID=$!
  for _ in $(seq 100); do
    grep -q "Serving until" "$WORK/$name.out" 2>/dev/null && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "udisc serve exited at start"; }
    sleep 0.1
  done
  fail "udisc serve did not start"
}

# make_mixed_track2 MAKE_MIXED_CUE ISO: a mixed-mode BIN/CUE in $WORK/mixed (data
# track from ISO, audio, MCN, ISRC) and track 2's audio as the disc holds it,
# after its 150-sector INDEX 00, in $WORK/track2.pcm (its length in track2.len).
make_mixed_track2() {
  mkdir -p "$WORK/mixed"
  "$1" "$WORK/mixed" --layout split --iso "$2" --name mixed > /dev/null
  local len
  len=$(awk '/^track 2 / {print $12 * 2352}' "$WORK/mixed/expected.toc")
  tail -c +$((150 * 2352 + 1)) "$WORK/mixed/mixed (Track 02).bin" | head -c "$len" > "$WORK/track2.pcm"
  echo "$len" > "$WORK/track2.len"
}

# stop_serve: SIGTERM, must exit 0 within 5 s.
stop_serve() {
  [ -n "$SERVE_PID" ] || return 0
  kill -TERM "$SERVE_PID"
  local rc=0
  for _ in $(seq 50); do
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -KILL "$SERVE_PID"; SERVE_PID=""; fail "udisc serve did not stop on SIGTERM"
  fi
  wait "$SERVE_PID" || rc=$?
  SERVE_PID=""
  [ "$rc" = 0 ] || fail "udisc serve exited with $rc after SIGTERM"
  grep -q "stopped" "$WORK/${SERVE_NAME:-serve}.log" || fail "no clean stop logged"
}

cleanup() {
  local status=$?
  # A failed check leaves the target's log unread: its last lines say what the target saw.
  if [ "$status" != 0 ] && [ -s "$WORK/${SERVE_NAME:-serve}.log" ]; then
    echo "last lines of the target's log ($WORK/${SERVE_NAME:-serve}.log):" >&2
    tail -n 20 "$WORK/${SERVE_NAME:-serve}.log" >&2
  fi
  # The target's children first: under Wine SERVE_PID is tests/windows/udisc-wine.sh, whose
  # udisc.exe would outlive a KILLed wrapper and hold the port for the next test.
  if [ -n "$SERVE_PID" ]; then pkill -KILL -P "$SERVE_PID" 2>/dev/null || true; kill -KILL "$SERVE_PID" 2>/dev/null || true; fi
  if [ -n "${NGINX_PID:-}" ]; then kill -KILL "$NGINX_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Runs one iscsi-test-cu family; prints the summary; fails on any failed test.
run_test_cu() {
  local family=$1 url=$2
  local out=$WORK/test-cu-$family.txt
  # The suite takes under a minute (Wine included); libiscsi waits for ever on an
  # unanswered command, so a hang ends here, with the test that hung named by the
  # suite's line-buffered output and the target's log tail (cleanup).
  local status=0
  timeout -k 10 "${TEST_CU_TIMEOUT:-600}" stdbuf -oL -eL \
    iscsi-test-cu --dataloss -t "$family" "$url" > "$out" 2>&1 || status=$?
  if ! grep -A4 "Run Summary" "$out"; then
    tail -20 "$out"
    [ "$status" = 124 ] && fail "iscsi-test-cu $family hung: no answer within ${TEST_CU_TIMEOUT:-600} s, in the last test above"
    fail "iscsi-test-cu $family did not finish (exit $status)"
  fi
  local failed
  failed=$(awk '/^ +tests/ {print $5}' "$out")
  if [ "$failed" != 0 ]; then
    grep -E "^  Test: .*FAILED|FAILED$|^ +[0-9]+\. test_" "$out" | head -40 >&2
    fail "iscsi-test-cu family $family: $failed failed tests"
  fi
}

# start_nginx ROOT PORT: Debian's nginx serving ROOT on 127.0.0.1:PORT in the
# background (config, logs and pid under $WORK/nginx); stop_nginx ends it.
NGINX_PID=""
start_nginx() {
  local root=$1 port=$2 d=$WORK/nginx
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || fail "nginx is not installed (tools/install-deps.sh)"
  mkdir -p "$d/tmp"
  {
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "daemon off; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log warn;"
    echo "events { worker_connections 256; }"
    echo "http { access_log off; default_type application/octet-stream;"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $d/tmp/$t;"; done
    echo "  server { listen 127.0.0.1:$port; root $root; } }"
  } > "$d/nginx.conf"
  /usr/sbin/nginx -p "$d/" -c "$d/nginx.conf" &
  NGINX_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$d/error.log" >&2; fail "nginx exited at start"; }
    sleep 0.05
  done
  fail "nginx did not listen on port $port"
}
stop_nginx() {
  [ -n "$NGINX_PID" ] || return 0
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}
