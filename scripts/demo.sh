#!/usr/bin/env bash
# Runs the Sekisho demo on http://127.0.0.1:8080: embedded store under
# ./demo-data, mail and SMS printed to this console, a seeded tenant, the
# built-in demo upstream, the closed-network route on 127.0.0.4:8090, and
# a local OpenID provider on 127.0.0.1:8082 behind the "Google" button.
# Stop with Ctrl-C; run again to continue.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
mkdir -p demo-data
printf 'demo-provider-secret' > demo-data/provider-client-secret

# The local OpenID provider (npm oidc-provider): any name and password sign
# in on its own login page. Stopped with the demo.
(cd tests/peers/oidc && ISSUER=http://127.0.0.1:8082 PORT=8082 \
  CLIENT_ID=sekisho-demo CLIENT_SECRET=demo-provider-secret \
  REDIRECTS=http://127.0.0.1:8080/.sekisho/federation/callback,http://127.0.0.4:8090/.sekisho/federation/callback \
  exec node provider.mjs > ../../../demo-data/provider.log 2>&1) &
provider=$!
trap 'kill "$provider" 2>/dev/null || true' EXIT

cargo run -p sekisho --bin sekisho -- demo --config config/demo.toml
