#!/usr/bin/env bash
# Installs what building and testing Sekisho needs on a Debian machine with
# the Rust toolchain. Idempotent: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)        # Pingora's zlib (libz-ng-sys)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)    # test certificates
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)                # the browser test
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)     # ... and its WebDriver
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)                        # the OpenID providers of the tests
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)       # the Redis store's tests
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
# The PostgreSQL store's tests (initdb, postgres, psql in a temporary cluster).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)             # the alert rules' tests (promtool)
# Japanese glyphs in the browser suite's pages and screenshots.
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev pkg-config)   # webauthn-rs (passkeys) links OpenSSL
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The SMTP sink of the end-to-end tests.
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "setup: installing aiosmtpd"
  python3 -m pip install -q aiosmtpd 2>/dev/null \
    || python3 -m pip install -q --break-system-packages aiosmtpd
fi

# The OpenID providers (npm oidc-provider, pinned by package-lock.json).
oidc_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/peers/oidc"
if [ ! -d "$oidc_dir/node_modules/oidc-provider" ]; then
  echo "setup: installing the test OpenID provider (npm ci)"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# axe-core, the accessibility engine the browser suite runs on every page
# (pinned by package-lock.json).
axe_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/peers/axe"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  echo "setup: installing axe-core (npm ci)"
  (cd "$axe_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
