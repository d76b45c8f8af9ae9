#!/usr/bin/env bash
# Runs the Sekisho demo on http://localhost:8080: embedded store under
# ./demo-data, mail and SMS printed to this console, a seeded tenant, the
# built-in demo upstream, the closed-network route on 127.0.0.4:8090, and
# a local OpenID provider on 127.0.0.1:8082 behind the "Google" button, and
# an ADFS-like provider at http://127.0.0.1:8083/adfs for Active Directory.
# Stop with Ctrl-C; run again to continue. Set SEKISHO_BIN to run a built
# binary (e.g. target/release/sekisho) instead of `cargo run`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --demo
mkdir -p demo-data
printf 'demo-provider-secret' > demo-data/provider-client-secret
# The key that seals each tenant's ADFS client secret in the store.
[ -s demo-data/ad-secret.key ] || openssl rand -hex 32 > demo-data/ad-secret.key

# The local OpenID provider (npm oidc-provider): any name and password sign
# in on its own login page. Stopped with the demo.
(cd tests/peers/oidc && ISSUER=http://127.0.0.1:8082 PORT=8082 \
  CLIENT_ID=sekisho-demo CLIENT_SECRET=demo-provider-secret \
  REDIRECTS=http://localhost:8080/.sekisho/federation/callback,http://127.0.0.4:8090/.sekisho/federation/callback \
  exec node provider.mjs > ../../../demo-data/provider.log 2>&1) &
provider=$!
# The ADFS-like provider for Active Directory設定 (it sends `upn` like ADFS);
# each connection's callback is accepted, as an ADFS administrator would
# register it once the connection ID is known.
(cd tests/peers/oidc && ISSUER=http://127.0.0.1:8083/adfs PORT=8083 \
  CLIENT_ID=sekisho-demo-adfs CLIENT_SECRET=demo-adfs-secret \
  REDIRECTS='http://localhost:8080/.sekisho/ad/*/callback,http://127.0.0.4:8090/.sekisho/ad/*/callback' \
  exec node provider.mjs > ../../../demo-data/adfs.log 2>&1) &
adfs=$!
trap 'kill "$provider" "$adfs" 2>/dev/null || true' EXIT

# SEKISHO_BIN: a built binary (e.g. target/release/sekisho) instead of
# building with Cargo.
if [ -n "${SEKISHO_BIN:-}" ]; then
  "$SEKISHO_BIN" demo --config config/demo.toml
else
  cargo run -p sekisho --bin sekisho -- demo --config config/demo.toml
fi
