#!/usr/bin/env bash
# The benchmark of PERFORMANCE.md, in one run on this machine: every
# baseline, the peer (LemonLDAP::NG) and the gateway, interleaved over
# rounds, then the report with every budget, its ratio and pass/fail.
#
#   a_direct         nginx, static 1 KiB                          127.0.0.1:9100 (and :9000)
#   b_nginx_proxy    nginx reverse proxy with keepalive            127.0.0.1:9101
#   c_nginx_authreq  nginx auth_request -> trivial auth process    127.0.0.1:9103 (auth on 9104)
#   d_pingora_bare   Pingora pass-through, same version/threads   127.0.0.1:6188
#   h_llng_rotating  LemonLDAP::NG handler (nginx auth_request -> FastCGI), rotating sessions
#                                                                  127.0.0.1:9202 (portal 9201)
#   g_gateway        Sekisho, embedded store, rotating sessions   127.0.0.1:8440 (metrics 9465)
#   gateway for transfers: a second Sekisho on the same store, upstream = the loadtest sink
#                                                                  127.0.0.1:8441 -> 127.0.0.1:9300
#   i_gateway_redis  Sekisho, Redis store (redis-server 127.0.0.1:9310, AOF), rotating sessions
#                                                                  127.0.0.1:8442 (metrics 9467)
#   j_gateway_postgres  Sekisho, PostgreSQL store (postgres 127.0.0.1:9320, fsync on), rotating sessions
#                                                                  127.0.0.1:8447 (metrics 9472)
#   ab_N_STEP        the ablation: Sekisho on the embedded store running only the first N steps
#                    of the proxied path (development.proxy_steps)  127.0.0.1:8443-8446 (metrics 9468-9471)
#   p12_* / abp_*    the same, pinned: wrk, nginx, Redis and PostgreSQL on core 0, the proxies on core 1 (P12)
#   p17_*            over TLS, one certificate: pingora-bare (127.0.0.1:6189) and Sekisho on the embedded
#                    store (127.0.0.1:8448, metrics 9473), HTTP/1.1 by wrk and HTTP/2 by h2load (P17)
#
# Usage: loadtest/bench.sh [rounds] [seconds]     (defaults: 3 rounds, 8 s per run)
# Env:   SESSIONS=1000 (gateway sessions rotated)  LLNG_SESSIONS=100  OUT=bench-results/DATE
# Installs what it needs (nginx-light, wrk, jq, curl, lemonldap-ng) when missing, builds in release,
# runs only on loopback, bounds every run in time, and stops everything it started.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/loadtest"
ROUNDS=${1:-3}; SECS=${2:-8}
NSESS=${SESSIONS:-1000}; LLNG_NSESS=${LLNG_SESSIONS:-100}
OUT=${OUT:-$ROOT/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"; M="$OUT/measurements.jsonl"; : > "$M"

# --- prerequisites (idempotent)
need=()
for c in nginx:nginx-light wrk:wrk h2load:nghttp2-client openssl:openssl jq:jq curl:curl ss:iproute2 llng-fastcgi-server:lemonldap-ng-fastcgi-server redis-server:redis-server redis-cli:redis-tools; do
  command -v "${c%%:*}" >/dev/null 2>&1 || need+=("${c#*:}")
done
[ -f /var/lib/lemonldap-ng/conf/lmConf-1.json ] || need+=(lemonldap-ng)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null || { echo "bench: cannot install ${need[*]}"; exit 1; }
fi
"$ROOT/scripts/setup.sh"
echo "bench: building (release)"
( cd "$ROOT" && cargo build --release -q -p sekisho -p sekisho-loadtest ) || { echo "bench: build failed"; exit 1; }
BIN="$ROOT/target/release"; LT="$BIN/sekisho-loadtest"

busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E '^127\.0\.0\.1:(9000|9100|9101|9103|9104|9105|6188|9201|9202|8440|8441|8442|8443|8444|8445|8446|8447|8448|6189|9300|9310|9320|9465|9467|9468|9469|9470|9471|9472|9473)$')
[ -z "$busy" ] || { echo "bench: ports already in use: $busy"; exit 1; }
ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || true

W=$(mktemp -d /tmp/sekisho-bench.XXXX); chmod 755 "$W"
mkdir -p "$W"/{tmp,www,logs,gw,gwr,gwp,pg,redis} "$W"/llng/{conf,sessions/lock,psessions/lock,notifications,cache,run}
head -c 1024 /dev/zero | tr '\0' 'x' > "$W/www/1k.html"; chmod 755 "$W/www"

note() { jq -nc --arg l "$1" --arg t "$2" '{kind:"note",label:$l,text:$t}' >> "$M"; }
value() { jq -nc --arg l "$1" --argjson v "$2" '{kind:"value",label:$l,value:$v}' >> "$M"; }
note machine "$(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
note date "$(date -u +'%Y-%m-%d %H:%M UTC')"
note method "rounds=$ROUNDS, ${SECS}s per run, wrk -t2 -c50 for throughput (load tool and servers share the CPUs); gateway sessions rotated: $NSESS; LemonLDAP::NG sessions rotated: $LLNG_NSESS"

# --- servers
common="access_log off; client_body_temp_path $W/tmp/body; proxy_temp_path $W/tmp/proxy; fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s; keepalive_requests 1000000; keepalive_timeout 65;"
cat > "$W/up.conf" <<C
worker_processes 2; daemon off; pid $W/up.pid; error_log $W/logs/up.err warn; events { worker_connections 20000; }
http { $common
  server { listen 127.0.0.1:9100; listen 127.0.0.1:9000; root $W/www; location / { } }
  server { listen 127.0.0.1:9105; location = /status { stub_status; } } }
C
cat > "$W/auth.conf" <<C
worker_processes 1; daemon off; pid $W/auth.pid; error_log $W/logs/auth.err warn; events { worker_connections 4096; }
http { $common server { listen 127.0.0.1:9104; location / { add_header X-User alice; return 200; } } }
C
cat > "$W/proxy.conf" <<C
worker_processes 2; daemon off; pid $W/proxy.pid; error_log $W/logs/proxy.err warn; events { worker_connections 4096; }
http { $common
  upstream app { server 127.0.0.1:9100; keepalive 64; }
  upstream authsvc { server 127.0.0.1:9104; keepalive 64; }
  server { listen 127.0.0.1:9101; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:9103;
    location / { auth_request /_auth; auth_request_set \$user \$upstream_http_x_user; proxy_set_header X-User \$user;
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /_auth { internal; proxy_pass http://authsvc; proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
sed -e "s#@W@#$W#g" -e "s#@COMMON@#$common#" "$HERE/peer/llng/nginx-llng.conf.in" > "$W/llng.conf"
sed -e "s#@W@#$W#g" -e "s#@LOGLEVEL@#warn#" -e "s#@CHECKTIME@#600#" "$HERE/peer/llng/lemonldap-ng.ini.in" > "$W/llng/lemonldap-ng.ini"
jq --arg dir "$W/llng" -f "$HERE/peer/llng/lmConf.jq" /var/lib/lemonldap-ng/conf/lmConf-1.json > "$W/llng/conf/lmConf-1.json" \
  || { echo "bench: cannot read the LemonLDAP::NG demo configuration (run as root)"; exit 1; }
FCGI_USER=()
if [ "$(id -u)" = 0 ]; then chown -R www-data:www-data "$W/llng"; FCGI_USER=(-u www-data -g www-data); fi

gw_config() { # listen metrics upstream [store table]
  local store=${4:-"[store]
path = \"$W/gw/sekisho.sqlite3\""}
  cat <<C
service_name = "おまかせクラウドストレージ"
[internet]
listen = "$1"
public_url = "http://localhost:${1##*:}"
[upstream]
address = "$3"
$store
[mail]
from = "bench@loadtest.example.jp"
transport = "outbox"
outbox_dir = "$W/gw/outbox"
[assertion]
signing_key_file = "$W/gw/key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "$W/gw/seed.key"
generate_seed_key = true
[metrics]
listen = "$2"
[throttle]
per_ip_per_minute = 1000000
per_address_account_per_minute = 1000000
per_account_per_minute = 1000000
[server]
threads = 2
grace_period_seconds = 0
graceful_shutdown_timeout_seconds = 1
[logging]
level = "warn"
[device_binding]
# The bound sessions of the S62 stage keep their cookie for the whole run.
cookie_seconds = 86400
[development]
insecure_http_cookies = true
C
}
gw_config 127.0.0.1:8440 127.0.0.1:9465 127.0.0.1:9000 > "$W/gw/main.toml"
gw_config 127.0.0.1:8441 127.0.0.1:9466 127.0.0.1:9300 > "$W/gw/transfer.toml"
gw_config 127.0.0.1:8442 127.0.0.1:9467 127.0.0.1:9000 "[store]
backend = \"redis\"
[store.redis]
url = \"redis://127.0.0.1:9310/\"" > "$W/gwr/main.toml"
gw_config 127.0.0.1:8447 127.0.0.1:9472 127.0.0.1:9000 "[store]
backend = \"postgres\"
[store.postgres]
url = \"postgres://127.0.0.1:9320/sekisho\"
tls = \"off\"" > "$W/gwp/main.toml"
# P17: the same gateway over TLS (h2 and http/1.1 by ALPN), on the main
# gateway's store, and pingora-bare with the same certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$W/tls.key" -out "$W/tls.pem" 2>/dev/null \
  || { echo "bench: openssl could not make a certificate"; exit 1; }
gw_config 127.0.0.1:8448 127.0.0.1:9473 127.0.0.1:9000 | sed 's#^public_url = "http://#public_url = "https://#' > "$W/gw/tls.toml"
printf '[internet.tls]\ncert_file = "%s"\nkey_file = "%s"\n' "$W/tls.pem" "$W/tls.key" >> "$W/gw/tls.toml"
# The ablation: the same gateway with only the first steps of the proxied
# path (session look-up; + header stripping; + identity headers; + the
# assertion); the full gateway above adds the metrics.
AB_STEPS=(session_only strip identity assertion)
for i in 0 1 2 3; do
  gw_config 127.0.0.1:$((8443 + i)) 127.0.0.1:$((9468 + i)) 127.0.0.1:9000 > "$W/gw/ab$i.toml"
  echo "proxy_steps = \"${AB_STEPS[$i]}\"" >> "$W/gw/ab$i.toml"
done

# PostgreSQL from Debian's packages (scripts/setup.sh installs them): a
# cluster of its own in $W/pg, run as the postgres account when we are root,
# with the durability settings left at their defaults.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "bench: PostgreSQL is not installed (scripts/setup.sh)"; exit 1; }
AS_PG=(); if [ "$(id -u)" = 0 ]; then chown postgres: "$W/pg"; AS_PG=(setpriv --reuid=postgres --regid=postgres --clear-groups); fi
"${AS_PG[@]}" "$PGBIN/initdb" -D "$W/pg/data" -A trust -U sekisho -E UTF8 --no-locale > "$W/logs/initdb.out" 2>&1 \
  || { echo "bench: initdb failed"; tail -n 5 "$W/logs/initdb.out"; exit 1; }
psql_pg() { "$PGBIN/psql" -h 127.0.0.1 -p 9320 -U sekisho -X -q -At "$@"; }

declare -A GRP
cleanup() {
  # PostgreSQL's backends leave the process group (setsid), so the
  # postmaster is told to stop at once; it takes its backends with it.
  [ -f "$W/pg/data/postmaster.pid" ] && kill -QUIT "$(head -n 1 "$W/pg/data/postmaster.pid")" 2>/dev/null
  for l in "${!GRP[@]}"; do kill -TERM -- "-${GRP[$l]}" 2>/dev/null; done
  for _ in $(seq 1 10); do live=0; for p in "${GRP[@]}"; do kill -0 -- "-$p" 2>/dev/null && live=1; done; [ $live = 0 ] && break; sleep 0.5; done
  for l in "${!GRP[@]}"; do kill -0 -- "-${GRP[$l]}" 2>/dev/null && kill -KILL -- "-${GRP[$l]}"; done
  wait 2>/dev/null; rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() { local l=$1; shift; setsid "$@" >"$W/logs/$l.out" 2>&1 </dev/null & GRP[$l]=$!; }
for c in up auth proxy; do start $c nginx -p "$W" -e "$W/logs/$c.start.err" -c "$W/$c.conf"; done
start pingora "$BIN/pingora-bare" 127.0.0.1:6188 127.0.0.1:9000 2
start pingora_tls "$BIN/pingora-bare" 127.0.0.1:6189 127.0.0.1:9000 2 "$W/tls.pem" "$W/tls.key"
LLNG_DEFAULTCONFFILE=$W/llng/lemonldap-ng.ini LLNG_DEFAULTLOGGER=Lemonldap::NG::Common::Logger::Std \
  start fcgi llng-fastcgi-server --foreground "${FCGI_USER[@]}" -n 7 -s "$W/llng/run/llng.sock" -p "$W/llng/run/llng.pid"
start llngnginx nginx -p "$W" -e "$W/logs/llng.start.err" -c "$W/llng.conf"
start sink "$LT" sink --addr 127.0.0.1:9300
start redis redis-server --bind 127.0.0.1 --port 9310 --save '' --appendonly yes --appendfsync everysec --dir "$W/redis" --daemonize no
for _ in $(seq 1 40); do [ "$(redis-cli -p 9310 ping 2>/dev/null)" = PONG ] && break; sleep 0.25; done
start postgres "${AS_PG[@]}" "$PGBIN/postgres" -D "$W/pg/data" -p 9320 -c listen_addresses=127.0.0.1 \
  -c "unix_socket_directories=$W/pg" -c max_connections=200
for _ in $(seq 1 80); do psql_pg -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.25; done
psql_pg -d postgres -c 'CREATE DATABASE sekisho' || { echo "bench: PostgreSQL did not start"; tail -n 5 "$W/logs/postgres.out"; exit 1; }
start gateway "$BIN/sekisho" run --config "$W/gw/main.toml"
start gateway2 "$BIN/sekisho" run --config "$W/gw/transfer.toml"
start gateway_redis "$BIN/sekisho" run --config "$W/gwr/main.toml"
start gateway_pg "$BIN/sekisho" run --config "$W/gwp/main.toml"
for _ in $(seq 1 80); do
  n=$(ss -Hltn | awk '{print $4}' | grep -cE '^127\.0\.0\.1:(9100|9101|9103|9104|9105|6188|9201|9202|8440|8441|8442|8447|9300|9310|9320)$')
  [ "$n" = 15 ] && [ -S "$W/llng/run/llng.sock" ] && break; sleep 0.25
done
[ "$n" = 15 ] || { echo "bench: servers did not start"; tail -n 5 "$W"/logs/*; exit 1; }
# The ablation's gateways share the main gateway's store and key, now made.
for i in 0 1 2 3; do start "ab$i" "$BIN/sekisho" run --config "$W/gw/ab$i.toml"; done
start gateway_tls "$BIN/sekisho" run --config "$W/gw/tls.toml"
for _ in $(seq 1 80); do
  n=$(ss -Hltn | awk '{print $4}' | grep -cE '^127\.0\.0\.1:(8443|8444|8445|8446|8448|6189)$'); [ "$n" = 6 ] && break; sleep 0.25
done
[ "$n" = 6 ] || { echo "bench: the ablation's or the TLS gateways did not start"; tail -n 5 "$W"/logs/ab* "$W"/logs/*tls*; exit 1; }

# --- sessions: the gateway's through its own admin command and pages; LL::NG's through its portal
echo "bench: creating $NSESS gateway sessions"
"$LT" setup --base http://127.0.0.1:8440 --sekisho "$BIN/sekisho" --config "$W/gw/main.toml" \
  --users 20 --sessions "$NSESS" --two-step-users 40 --passkey-users 20 --passkey-origin http://localhost:8440 \
  --out "$W/gw/load" || { echo "bench: gateway setup failed"; exit 1; }
"$LT" setup --base http://127.0.0.1:8442 --sekisho "$BIN/sekisho" --config "$W/gwr/main.toml" \
  --users 20 --sessions "$NSESS" --two-step-users 0 --passkey-users 20 --passkey-origin http://localhost:8442 \
  --out "$W/gwr/load" || { echo "bench: Redis gateway setup failed"; exit 1; }
"$LT" setup --base http://127.0.0.1:8447 --sekisho "$BIN/sekisho" --config "$W/gwp/main.toml" \
  --users 20 --sessions "$NSESS" --two-step-users 0 --passkey-users 20 --passkey-origin http://localhost:8447 \
  --out "$W/gwp/load" || { echo "bench: PostgreSQL gateway setup failed"; exit 1; }
R=(--max-time 10 -s --resolve auth.example.com:9201:127.0.0.1)
llng_login() {
  local tok; tok=$(curl "${R[@]}" http://auth.example.com:9201/ | sed -n 's/.*name="token" value="\([^"]*\)".*/\1/p')
  curl "${R[@]}" -o /dev/null -D - -X POST --data-urlencode "user=$1" --data-urlencode "password=$1" \
    --data-urlencode "token=$tok" http://auth.example.com:9201/ | sed -n 's/^Set-Cookie: lemonldap=\([0-9a-f]\{16,\}\).*/\1/ip'
}
echo "bench: creating $LLNG_NSESS LemonLDAP::NG sessions"
users=(dwho rtyler msmith); : > "$W/llng-cookies.txt"
for i in $(seq 0 $((LLNG_NSESS-1))); do llng_login "${users[$((i%3))]}" >> "$W/llng-cookies.txt"; done
[ "$(sort -u "$W/llng-cookies.txt" | grep -c .)" = "$LLNG_NSESS" ] || { echo "bench: LemonLDAP::NG logins failed"; tail -n 20 "$W/logs/fcgi.out"; exit 1; }
code=$(curl --max-time 5 -s -o /dev/null -w '%{http_code}' -H 'Host: test1.example.com' -H "Cookie: lemonldap=$(head -1 "$W/llng-cookies.txt")" http://127.0.0.1:9202/1k.html)
[ "$code" = 200 ] || { echo "bench: LemonLDAP::NG protected page answered $code"; exit 1; }
code=$(curl --max-time 5 -s -o /dev/null -w '%{http_code}' -H "Cookie: sekisho=$(head -1 "$W/gw/load/cookies.txt")" http://127.0.0.1:8440/1k.html)
[ "$code" = 200 ] || { echo "bench: gateway protected page answered $code"; exit 1; }
code=$(curl --max-time 5 -s -o /dev/null -w '%{http_code}' -H "Cookie: sekisho=$(head -1 "$W/gwr/load/cookies.txt")" http://127.0.0.1:8442/1k.html)
[ "$code" = 200 ] || { echo "bench: Redis gateway protected page answered $code"; exit 1; }
code=$(curl --max-time 5 -s -o /dev/null -w '%{http_code}' -H "Cookie: sekisho=$(head -1 "$W/gwp/load/cookies.txt")" http://127.0.0.1:8447/1k.html)
[ "$code" = 200 ] || { echo "bench: PostgreSQL gateway protected page answered $code"; exit 1; }
for i in 0 1 2 3; do
  code=$(curl --max-time 5 -s -o /dev/null -w '%{http_code}' -H "Cookie: sekisho=$(head -1 "$W/gw/load/cookies.txt")" http://127.0.0.1:$((8443 + i))/1k.html)
  [ "$code" = 200 ] || { echo "bench: ablation gateway ${AB_STEPS[$i]} answered $code"; exit 1; }
done

# --- device-bound sessions (S62, no budget): 200 sessions signed in and
# bound by a software DBSC key; their refresh rate and the gateway's CPU
# per refresh; their cookies (session and bound) for the bound GET below.
gpid=$(pgrep -f "sekisho run --config $W/gw/main.toml" | head -1)
"$LT" dbsc --base http://127.0.0.1:8440 --users "$W/gw/load/users.txt" --sessions 200 --seconds "$SECS" \
  --concurrency 8 --pid "$gpid" --cookies-out "$W/gw/load/bound-cookies.txt" > "$W/dbsc.json" \
  || { echo "bench: the DBSC stage failed"; exit 1; }
for k in refreshes_per_second refreshes_per_cpu_second errors; do value "dbsc_$k" "$(jq ".$k" "$W/dbsc.json")"; done

# --- store bytes per session in Redis (P7): MEMORY USAGE of each session
# record, and of the user's session index per session it holds.
rc() { redis-cli -p 9310 "$@"; }
keys=$(rc --scan --pattern 'sekisho:s:*' | head -n 500)
n=$(echo "$keys" | grep -c .)
total=0; for k in $keys; do total=$(( total + $(rc MEMORY USAGE "$k" SAMPLES 0) )); done
idx=0; members=0; for k in $(rc --scan --pattern 'sekisho:us:*'); do
  idx=$(( idx + $(rc MEMORY USAGE "$k" SAMPLES 0) )); members=$(( members + $(rc SCARD "$k") )); done
value p7_sampled "$n"
value p7_session_bytes "$(awk -v t="$total" -v n="$n" 'BEGIN { print (n > 0 ? t / n : "null") }')"
value p7_session_bytes_with_index "$(awk -v t="$total" -v n="$n" -v i="$idx" -v m="$members" 'BEGIN { print (n > 0 && m > 0 ? t / n + i / m : "null") }')"
# Beside P7, the same on PostgreSQL: the sessions table's rows (their
# stored size), and everything the table takes on disk (its pages, TOAST
# and indexes, the user and expiry indexes included) per session.
psql_pg -d sekisho -c 'VACUUM ANALYZE sessions' >/dev/null
IFS='|' read -r pg_n pg_rows pg_total <<< "$(psql_pg -d sekisho -c "SELECT count(*), coalesce(sum(pg_column_size(s.*)), 0), pg_total_relation_size('sessions') FROM sessions s")"
value p7_postgres_sessions "${pg_n:-0}"
value p7_postgres_row_bytes "$(awk -v t="${pg_rows:-0}" -v n="${pg_n:-0}" 'BEGIN { print (n > 0 ? t / n : "null") }')"
value p7_postgres_total_bytes "$(awk -v t="${pg_total:-0}" -v n="${pg_n:-0}" 'BEGIN { print (n > 0 ? t / n : "null") }')"

# --- throughput rounds (wrk), interleaved
wrk_run() { # label round wrk-args...
  local label=$1 round=$2; shift 2
  timeout $((SECS+10)) "${WRK_PIN[@]}" wrk -t2 -c50 -d"${SECS}s" --latency "$@" > "$W/w.txt" 2>&1
  awk -v l="$label" -v r="$round" '
    function ms(x) { if (x ~ /us$/) return x / 1000; if (x ~ /ms$/) return x + 0; if (x ~ /s$/) return x * 1000; return x + 0 }
    /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { e += $NF } /Socket errors/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
    END { printf "{\"kind\":\"wrk\",\"label\":\"%s\",\"round\":%d,\"rps\":%f,\"p50_ms\":%f,\"p99_ms\":%f,\"errors\":%d}\n", l, r, rps, p50, p99, e + 0 }' "$W/w.txt" | tee -a "$M"
}
WRK_PIN=()
warm() { timeout 6 wrk -t2 -c50 -d2s "$@" >/dev/null 2>&1; }
gw_run() { # label round port cookies: wrk with the gateway's rotating sessions
  wrk_run "$1" "$2" -s "$HERE/peer/rotate.lua" "http://127.0.0.1:$3/1k.html" "$4" "127.0.0.1:$3" sekisho
}
warm http://127.0.0.1:6188/1k.html
warm -s "$HERE/peer/rotate.lua" http://127.0.0.1:8440/1k.html "$W/gw/load/cookies.txt" 127.0.0.1:8440 sekisho
warm -s "$HERE/peer/rotate.lua" http://127.0.0.1:9202/1k.html "$W/llng-cookies.txt" test1.example.com lemonldap
warm -s "$HERE/peer/rotate.lua" http://127.0.0.1:8442/1k.html "$W/gwr/load/cookies.txt" 127.0.0.1:8442 sekisho
warm -s "$HERE/peer/rotate.lua" http://127.0.0.1:8447/1k.html "$W/gwp/load/cookies.txt" 127.0.0.1:8447 sekisho
for i in 0 1 2 3; do warm -s "$HERE/peer/rotate.lua" http://127.0.0.1:$((8443 + i))/1k.html "$W/gw/load/cookies.txt" 127.0.0.1:$((8443 + i)) sekisho; done
status() { curl -s http://127.0.0.1:9105/status | awk 'NR==3 {print $1}'; }
for r in $(seq 1 "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS"
  wrk_run a_direct "$r" http://127.0.0.1:9100/1k.html
  wrk_run b_nginx_proxy "$r" http://127.0.0.1:9101/1k.html
  wrk_run c_nginx_authreq "$r" http://127.0.0.1:9103/1k.html
  wrk_run d_pingora_bare "$r" http://127.0.0.1:6188/1k.html
  wrk_run h_llng_rotating "$r" -s "$HERE/peer/rotate.lua" http://127.0.0.1:9202/1k.html "$W/llng-cookies.txt" test1.example.com lemonldap
  before=$(status)
  wrk_run g_gateway "$r" -s "$HERE/peer/rotate.lua" http://127.0.0.1:8440/1k.html "$W/gw/load/cookies.txt" 127.0.0.1:8440 sekisho
  after=$(status)
  if [ "$r" = 1 ]; then
    reqs=$(awk '/requests in/ {print $1}' "$W/w.txt")
    value p6_upstream_connections $(( after - before - 1 )); value p6_requests "${reqs:-0}"
  fi
  gw_run g_gateway_bound "$r" 8440 "$W/gw/load/bound-cookies.txt"
  wrk_run i_gateway_redis "$r" -s "$HERE/peer/rotate.lua" http://127.0.0.1:8442/1k.html "$W/gwr/load/cookies.txt" 127.0.0.1:8442 sekisho
  gw_run j_gateway_postgres "$r" 8447 "$W/gwp/load/cookies.txt"
  for i in 0 1 2 3; do gw_run "ab_$((i + 1))_${AB_STEPS[$i]}" "$r" $((8443 + i)) "$W/gw/load/cookies.txt"; done
done

# --- over TLS (P17): the authenticated GET on HTTP/1.1 (wrk, rotating
# sessions) and on HTTP/2 (h2load, 50 connections of 10 streams; h2load
# sends one header set, so one session), against pingora-bare over TLS.
h2_run() { # label round url [h2load args]
  local label=$1 round=$2 url=$3; shift 3
  timeout $((SECS+15)) h2load -t2 -c50 -m10 -D "$SECS" --warm-up-time=1 "$@" "$url" > "$W/h2.txt" 2>&1
  awk -v l="$label" -v r="$round" '
    /^finished in/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { rps = $i; gsub(/,/, "", rps) } }
    /^requests:/ { failed = $10 + $12 + $14 }
    /^status codes:/ { other = $5 + $7 + $9 }
    /^time for request:/ { max = $5; mean = $6 }
    function ms(x) { if (x ~ /us$/) return x / 1000; if (x ~ /ms$/) return x + 0; if (x ~ /s$/) return x * 1000; return x + 0 }
    END { printf "{\"kind\":\"wrk\",\"label\":\"%s\",\"round\":%d,\"rps\":%f,\"p50_ms\":%f,\"p99_ms\":%f,\"errors\":%d}\n", l, r, rps + 0, ms(mean), ms(max), failed + other }' "$W/h2.txt" | tee -a "$M"
}
cookie1="sekisho=$(head -1 "$W/gw/load/cookies.txt")"
code=$(curl --max-time 5 -sk --http2 -o /dev/null -w '%{http_code} %{http_version}' -H "Cookie: $cookie1" https://127.0.0.1:8448/1k.html)
[ "$code" = "200 2" ] || { echo "bench: the TLS gateway answered $code over h2"; exit 1; }
warm https://127.0.0.1:6189/1k.html
warm -s "$HERE/peer/rotate.lua" https://127.0.0.1:8448/1k.html "$W/gw/load/cookies.txt" 127.0.0.1:8448 sekisho
for r in $(seq 1 "$ROUNDS"); do
  echo "bench: TLS round $r of $ROUNDS"
  wrk_run p17_pingora_bare_tls_h1 "$r" https://127.0.0.1:6189/1k.html
  wrk_run p17_gateway_tls_h1 "$r" -s "$HERE/peer/rotate.lua" https://127.0.0.1:8448/1k.html "$W/gw/load/cookies.txt" 127.0.0.1:8448 sekisho
  h2_run p17_pingora_bare_tls_h2 "$r" https://127.0.0.1:6189/1k.html
  h2_run p17_gateway_tls_h2 "$r" https://127.0.0.1:8448/1k.html -H "cookie: $cookie1"
done

# --- pinned (P12): wrk, nginx and Redis on core 0; pingora-bare and the
# gateways, hashing threads included, on core 1. Each proxy's own core is
# then what a ratio measures, as in production where the load comes from
# elsewhere.
pin() { # cpus label...
  local cpus=$1 l p; shift
  # Each process of a label's group, and its children: PostgreSQL's
  # backends leave the group but stay the postmaster's children.
  for l in "$@"; do for p in $(pgrep -g "${GRP[$l]}"); do
    for c in "$p" $(pgrep -P "$p"); do taskset -a -p -c "$cpus" "$c" >/dev/null 2>&1; done
  done; done
}
PROXIES=(pingora gateway gateway2 gateway_redis gateway_pg ab0 ab1 ab2 ab3)
LOADS=(up auth proxy redis postgres sink llngnginx fcgi)
if [ "$(nproc)" -ge 2 ]; then
  pin 0 "${LOADS[@]}"; pin 1 "${PROXIES[@]}"; WRK_PIN=(taskset -c 0)
  note pinned "wrk, nginx, Redis and PostgreSQL on CPU 0; pingora-bare and the gateways on CPU 1"
  for r in $(seq 1 "$ROUNDS"); do
    echo "bench: pinned round $r of $ROUNDS"
    wrk_run p12_pingora_bare_pinned "$r" http://127.0.0.1:6188/1k.html
    gw_run p12_gateway_pinned "$r" 8440 "$W/gw/load/cookies.txt"
    gw_run p12_gateway_redis_pinned "$r" 8442 "$W/gwr/load/cookies.txt"
    gw_run p12_gateway_postgres_pinned "$r" 8447 "$W/gwp/load/cookies.txt"
    for i in 0 1 2 3; do gw_run "abp_$((i + 1))_${AB_STEPS[$i]}" "$r" $((8443 + i)) "$W/gw/load/cookies.txt"; done
  done
  # PROFILE=1: a CPU profile of the pinned gateway under the same load
  # (perf from Debian's linux-perf), for the report's analysis.
  if [ -n "${PROFILE:-}" ] && command -v perf >/dev/null 2>&1; then
    gpid=$(pgrep -f "sekisho run --config $W/gw/main.toml" | head -1)
    perf record -F 999 -g -p "$gpid" -o "$OUT/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
    ppid=$!
    gw_run profile_gateway_pinned 1 8440 "$W/gw/load/cookies.txt" >/dev/null
    wait $ppid
    perf report -i "$OUT/perf.data" --no-children --stdio --percent-limit 0.7 --sort symbol 2>/dev/null \
      | grep -v '^$' | head -n 120 > "$OUT/profile.txt"
  fi
  WRK_PIN=(); pin "0-$(( $(nproc) - 1 ))" "${LOADS[@]}" "${PROXIES[@]}"
fi

# --- latency at a fixed rate: 25% of pingora-bare's saturation (P3)
rate=$(jq -s '[.[] | select(.kind=="wrk" and .label=="d_pingora_bare") | .rps] | sort | .[length/2|floor] * 0.25 | floor' "$M")
value p3_rate "$rate"
echo "bench: fixed rate $rate req/s"
# Both at steady state: the gateway's session views aged out since the
# last stage (the 60 s bound), so its first run reads and signs all 1,000
# sessions again; that run is recorded apart (p3_gateway_cold, in P3's
# detail) and the measured one follows it. pingora-bare is warmed alike.
"$LT" run --scenario browse --base http://127.0.0.1:6188 --rate "$rate" --concurrency 500 --seconds 2 --label p3_warm_up > /dev/null
"$LT" run --scenario browse --base http://127.0.0.1:6188 --rate "$rate" --concurrency 500 --seconds "$SECS" --label p3_pingora_bare_fixed_rate --record "$M" > /dev/null
"$LT" run --scenario browse --base http://127.0.0.1:8440 --cookies "$W/gw/load/cookies.txt" --rate "$rate" --concurrency 500 --seconds "$SECS" --label p3_gateway_cold --record "$M" > /dev/null
"$LT" run --scenario browse --base http://127.0.0.1:8440 --cookies "$W/gw/load/cookies.txt" --rate "$rate" --concurrency 500 --seconds "$SECS" --label p3_gateway_fixed_rate --record "$M" > /dev/null

# --- logins (P4) against the hash-bound baseline
value hash_rate "$("$BIN/sekisho" hash-rate --config "$W/gw/main.toml" --seconds 5 | jq .hashes_per_second)"
"$LT" run --scenario login --base http://127.0.0.1:8440 --users "$W/gw/load/users.txt" --concurrency 8 --seconds "$SECS" --label p4_login --record "$M" > /dev/null
# Passkey logins (P13): no argon2, so the rate is the store's and the pages'.
"$LT" run --scenario passkey-login --base http://127.0.0.1:8440 --passkeys "$W/gw/load/passkeys.txt" --concurrency 16 --seconds "$SECS" --label p13_passkey_login --record "$M" > /dev/null
# The same on the Redis and PostgreSQL gateways (reported beside P13).
"$LT" run --scenario passkey-login --base http://127.0.0.1:8442 --passkeys "$W/gwr/load/passkeys.txt" --concurrency 16 --seconds "$SECS" --label p13_passkey_login_redis --record "$M" > /dev/null
"$LT" run --scenario passkey-login --base http://127.0.0.1:8447 --passkeys "$W/gwp/load/passkeys.txt" --concurrency 16 --seconds "$SECS" --label p13_passkey_login_postgres --record "$M" > /dev/null
# Logins through the authenticator step (no budget: a TOTP step serves a
# user once, so 40 users sign in at most 40 times per 30 s).
"$LT" run --scenario login --base http://127.0.0.1:8440 --users "$W/gw/load/users-2fa.txt" --concurrency 4 --max-requests 40 --seconds 35 --label login_two_step --record "$M" > /dev/null

# The breach list (S64, no budget): import speed, filter bytes per entry,
# check time, on a generated list of two million entries.
"$LT" breached --lines 2000000 --checks 1000000 > "$W/breached.json"
for k in import_lines_per_second bytes_per_entry check_ns; do
  value "breached_$k" "$(jq ".$k" "$W/breached.json")"
done

# --- browsing alone, then during a login flood (P5)
"$LT" run --scenario browse --base http://127.0.0.1:8440 --cookies "$W/gw/load/cookies.txt" --concurrency 50 --seconds "$SECS" --label p5_browse_idle --record "$M" > /dev/null
"$LT" run --scenario mixed --base http://127.0.0.1:8440 --cookies "$W/gw/load/cookies.txt" --users "$W/gw/load/users.txt" \
  --concurrency 50 --login-concurrency 16 --seconds "$SECS" --label p5_browse_during_login_flood --record "$M" > /dev/null

# --- memory: 10,000 idle keep-alive connections (P8); 1 GiB up and down (P9)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
gpid=$(pgrep -f "sekisho run --config $W/gw/main.toml" | head -1)
cookie="sekisho=$(head -1 "$W/gw/load/cookies.txt")"
value p8_rss_before_mib "$(rss "$gpid" | awk '{print $1/1024}')"
"$LT" idle --addr 127.0.0.1:8440 --cookie "$cookie" --connections 10000 --hold-seconds 8 > "$W/idle.json" &
idle_pid=$!; sleep 6; peak=$(rss "$gpid"); wait $idle_pid
value p8_rss_mib "$(echo "$peak" | awk '{print $1/1024}')"
value p8_connections "$(jq .established "$W/idle.json")"; value p8_answered "$(jq .answered "$W/idle.json")"
t_pid=$(pgrep -f "sekisho run --config $W/gw/transfer.toml" | head -1)
transfer() { # label scenario path
  local base0 max=0 r; base0=$(rss "$t_pid")
  "$LT" run --scenario "$2" --base http://127.0.0.1:8441 --path "$3" --cookies "$W/gw/load/cookies.txt" --concurrency 1 \
    --max-requests 1 --mib 1024 --seconds 120 --label "$1" --record "$M" > /dev/null &
  local p=$!
  while kill -0 $p 2>/dev/null; do r=$(rss "$t_pid"); [ "$r" -gt "$max" ] && max=$r; sleep 0.1; done
  wait $p
  echo $(( (max - base0) )) | awk '{print ($1 < 0 ? 0 : $1) / 1024}'
}
value p9_rss_growth_upload_mib "$(transfer p9_upload_1gib upload /upload)"
value p9_rss_growth_download_mib "$(transfer p9_download_1gib download "/big?bytes=1073741824")"

# --- revocation (P16): sessions ended by an admin command (another
# process) until each gateway refuses them; last, since it ends the
# sessions of the users it samples.
for b in "embedded 8440 gw" "redis 8442 gwr" "postgres 8447 gwp"; do
  set -- $b
  "$LT" revocation --base "http://127.0.0.1:$2" --users "$W/$3/load/users.txt" --samples 5 \
    --sekisho "$BIN/sekisho" --config "$W/$3/main.toml" > "$W/revocation-$1.json" \
    || { echo "bench: the revocation stage failed on $1"; exit 1; }
  for k in median_ms max_ms missed; do value "p16_${1}_$k" "$(jq ".$k" "$W/revocation-$1.json")"; done
done

# --- instructions per request (P15): callgrind, so noise cannot move it
"$HERE/instructions.sh" 2000 "$BIN" "$BIN" > "$W/instructions.json" 2>"$W/logs/instructions.err" \
  || { echo "bench: the instruction count failed"; tail -n 5 "$W/logs/instructions.err"; exit 1; }
for k in gateway_ir_per_request gateway_access_log_ir_per_request pingora_bare_ir_per_request; do
  value "p15_$k" "$(jq ".$k" "$W/instructions.json")"
done

# --- report
"$LT" report --in "$M" --out "$OUT" --analysis "$HERE/analysis.md" > /dev/null
echo; cat "$OUT/report.md"; echo; echo "bench: report in $OUT/report.md (JSON: $OUT/report.json)"
