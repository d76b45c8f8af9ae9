#!/usr/bin/env bash
# Runs the Sekisho demo on http://127.0.0.1:8080: embedded store under
# ./demo-data, mail printed to this console, a seeded tenant, and the
# built-in demo upstream. Stop with Ctrl-C; run again to continue.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
exec cargo run -p sekisho --bin sekisho -- demo --config config/demo.toml
