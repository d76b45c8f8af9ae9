#!/usr/bin/env bash
# How much memory a connection flood leaves behind once it is over: the
# release gateway's resident memory at rest, with 10,000 idle keep-alive
# connections (each made one request), and 2, 15 and 60 s after they
# closed; with a 10 ms purge delay and eager arenas (mimalloc 2's
# defaults; mimalloc 3, the one built here, delays purges by 1,000 ms),
# with the purge at once alone, and with the gateway's settings (each set
# explicitly: otherwise the gateway starts itself again with its own,
# main.rs). Bounded: one flood per setting.
#
# Usage: loadtest/flood-memory.sh [connections]     (default 10000)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-10000}
( cd "$ROOT" && cargo build --release -q -p sekisho -p sekisho-loadtest ) || { echo "build failed"; exit 1; }
BIN="$ROOT/target/release"
ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || true
W=$(mktemp -d /tmp/sekisho-flood.XXXX)
trap 'kill "$gw" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
cat > "$W/sekisho.toml" <<C
service_name = "x"
[internet]
listen = "127.0.0.1:8490"
public_url = "http://127.0.0.1:8490"
[upstream]
address = "127.0.0.1:9"
[store]
path = "$W/store.sqlite3"
[mail]
from = "gw@example.jp"
transport = "outbox"
outbox_dir = "$W/outbox"
[assertion]
signing_key_file = "$W/key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "$W/seed.key"
generate_seed_key = true
[limits]
connections_per_address = 100000
[server]
threads = 2
upgrade_socket = "$W/run/upgrade.sock"
[logging]
level = "warn"
[development]
insecure_http_cookies = true
C
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
flood() { # label [env assignments...]
  local label=$1; shift
  env "$@" "$BIN/sekisho" run --config "$W/sekisho.toml" > "$W/gw.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 40); do curl -s -o /dev/null http://127.0.0.1:8490/.sekisho/healthz && break; sleep 0.25; done
  for _ in 1 2 3; do curl -s -o /dev/null http://127.0.0.1:8490/.sekisho/login; done
  local rest; rest=$(rss "$gw")
  "$BIN/sekisho-loadtest" idle --addr 127.0.0.1:8490 --path /.sekisho/login --connections "$N" --hold-seconds 6 > "$W/idle.json" &
  local idle=$!; sleep 5; local held; held=$(rss "$gw"); wait "$idle"
  sleep 2; local after2; after2=$(rss "$gw")
  sleep 13; local after15; after15=$(rss "$gw")
  sleep 45; local after60; after60=$(rss "$gw")
  printf '{"setting":"%s","connections":%s,"rest_kib":%s,"held_kib":%s,"after_2s_kib":%s,"after_15s_kib":%s,"after_60s_kib":%s}\n' \
    "$label" "$(jq .established "$W/idle.json")" "$rest" "$held" "$after2" "$after15" "$after60"
  kill "$gw"; wait "$gw" 2>/dev/null
}
flood purge_delay_10 MIMALLOC_PURGE_DELAY=10 MIMALLOC_ARENA_EAGER_COMMIT=2
flood purge_delay_0 MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=2
flood purge_delay_0_no_eager_commit MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0
