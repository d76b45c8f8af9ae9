#!/usr/bin/env bash
# Instructions per authenticated GET (PERFORMANCE P15), a figure machine
# noise cannot move: the gateway and pingora-bare each run under
# callgrind; a fixed count of requests is sent on one kept-alive
# connection (sessions rotated over 1,000, all cached first: a view stays
# cached until told, at most the 10 minutes set here), and only those
# requests are counted (the instrumentation switched on after the warm-up,
# the counters zeroed, then dumped after the count). The gateway is
# counted with the access log off, as P15 asks, and on.
#
# Usage: loadtest/instructions.sh [requests] [bin-dir] [loadtest-bin-dir]
#   requests          default 2000
#   bin-dir           where sekisho and pingora-bare are (default: a
#                     release build of this tree, built first)
#   loadtest-bin-dir  where sekisho-loadtest is (default: bin-dir)
# Prints one JSON line: instructions per request of each, and the ratio.
# With KEEP=DIR, the callgrind dumps are copied there, for
# `callgrind_annotate --inclusive=yes DIR/gateway.*`.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-2000}
if [ -z "${2:-}" ]; then
  ( cd "$ROOT" && cargo build --release -q -p sekisho -p sekisho-loadtest ) || { echo "build failed"; exit 1; }
  BIN="$ROOT/target/release"
else
  BIN=$2
fi
LTBIN=${3:-$BIN}
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null || { echo "valgrind missing"; exit 1; }; }
W=$(mktemp -d /tmp/sekisho-ir.XXXX); chmod 755 "$W"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; nginx -p "$W" -c "$W/up.conf" -s stop 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/www" "$W/logs" "$W/gw"
head -c 1024 /dev/zero | tr '\0' 'x' > "$W/www/1k.html"
cat > "$W/up.conf" <<C
worker_processes 1; daemon on; pid $W/up.pid; error_log $W/logs/up.err warn; events { worker_connections 1024; }
http { access_log off; client_body_temp_path $W/b; proxy_temp_path $W/p; fastcgi_temp_path $W/f; uwsgi_temp_path $W/u; scgi_temp_path $W/s;
  keepalive_requests 1000000; server { listen 127.0.0.1:9611; root $W/www; location / { } } }
C
nginx -p "$W" -c "$W/up.conf" || { echo "nginx failed"; exit 1; }
cat > "$W/gw/sekisho.toml" <<C
service_name = "x"
[internet]
listen = "127.0.0.1:8610"
public_url = "http://localhost:8610"
[upstream]
address = "127.0.0.1:9611"
[store]
path = "$W/gw/sekisho.sqlite3"
cache_max_age_ms = 600000
[mail]
from = "ir@example.jp"
transport = "outbox"
outbox_dir = "$W/gw/outbox"
[assertion]
signing_key_file = "$W/gw/key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "$W/gw/seed.key"
generate_seed_key = true
[throttle]
per_ip_per_minute = 1000000
per_address_account_per_minute = 1000000
per_account_per_minute = 1000000
[server]
threads = 2
grace_period_seconds = 0
graceful_shutdown_timeout_seconds = 1
upgrade_socket = "$W/gw/run/upgrade.sock"
[logging]
level = "warn"
[development]
insecure_http_cookies = true
C
up() { for _ in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$1/$2" && return 0; sleep 0.5; done; return 1; }
# Sessions, made through the gateway's own pages at full speed.
"$BIN/sekisho" run --config "$W/gw/sekisho.toml" > "$W/logs/gw-setup.log" 2>&1 & gw=$!; pids+=("$gw")
up 8610 .sekisho/healthz || { echo "gateway did not start"; tail "$W/logs/gw-setup.log"; exit 1; }
"$LTBIN/sekisho-loadtest" setup --base http://127.0.0.1:8610 --sekisho "$BIN/sekisho" --config "$W/gw/sekisho.toml" \
  --users 20 --sessions 1000 --out "$W/gw/load" > "$W/logs/setup.log" 2>&1 || { echo "setup failed"; tail "$W/logs/setup.log"; exit 1; }
kill "$gw"; wait "$gw" 2>/dev/null
# One kept-alive connection, `count` requests, cookies in turn.
cat > "$W/client.py" <<'P'
import http.client, sys
port, count, cookies = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = [l.strip() for l in open(cookies)] if cookies != "-" else [""]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
bad = 0
for i in range(count):
    headers = {"Host": f"127.0.0.1:{port}"}
    if names[0]:
        headers["Cookie"] = "sekisho=" + names[i % len(names)]
    c.request("GET", "/1k.html", headers=headers)
    r = c.getresponse(); r.read()
    bad += r.status != 200
sys.exit(1 if bad else 0)
P
count() { # label port cookies command...: instructions per request
  local label=$1 port=$2 cookies=$3; shift 3
  # The allocator's options the gateway would otherwise start itself
  # again with (main.rs), for both proxies alike: under valgrind the
  # process must not exec.
  MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/$label.%p" "$@" > "$W/logs/$label.log" 2>&1 & local pid=$!; pids+=("$pid")
  up "$port" 1k.html || { echo "$label did not start under valgrind" >&2; return 1; }
  python3 "$W/client.py" "$port" 1000 "$cookies" || { echo "$label: warm-up requests failed" >&2; return 1; }
  callgrind_control -i on "$pid" > /dev/null 2>&1
  python3 "$W/client.py" "$port" 50 "$cookies" || { echo "$label: requests failed" >&2; return 1; }
  callgrind_control -z "$pid" > /dev/null 2>&1
  python3 "$W/client.py" "$port" "$N" "$cookies" || { echo "$label: requests failed" >&2; return 1; }
  callgrind_control -d "$pid" > /dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$W/$label".*.1 "$KEEP/" 2>/dev/null
  # The dump holds what ran between the zeroing and it: the N requests.
  awk '/^totals:/ { s += $2 } END { printf "%.0f", s / '"$N"' }' "$W/$label".*.1
}
gw_ir=$(count gateway 8610 "$W/gw/load/cookies.txt" "$BIN/sekisho" run --config "$W/gw/sekisho.toml") || exit 1
# The same with the access log on (one JSON line a request, to a file).
sed 's/^level = "warn"$/level = "warn"\naccess_log = true/' "$W/gw/sekisho.toml" > "$W/gw/logged.toml"
log_ir=$(count gateway_log 8610 "$W/gw/load/cookies.txt" "$BIN/sekisho" run --config "$W/gw/logged.toml") || exit 1
bare_ir=$(count bare 8611 - "$BIN/pingora-bare" 127.0.0.1:8611 127.0.0.1:9611 2) || exit 1
ratio() { awk -v g="$1" -v b="$2" 'BEGIN { printf "%.3f", g / b }'; }
printf '{"requests":%s,"gateway_ir_per_request":%s,"gateway_access_log_ir_per_request":%s,"pingora_bare_ir_per_request":%s,"ratio":%s,"ratio_access_log":%s}\n' \
  "$N" "$gw_ir" "$log_ir" "$bare_ir" "$(ratio "$gw_ir" "$bare_ir")" "$(ratio "$log_ir" "$bare_ir")"
