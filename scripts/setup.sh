#!/usr/bin/env bash
# Installs what building and testing Sekisho needs on a Debian machine with
# the Rust toolchain. Idempotent: it installs only what is missing.
#
#   scripts/setup.sh          everything the tests need (scripts/test.sh)
#   scripts/setup.sh --demo   only what the demo needs (scripts/demo.sh):
#                             the build's packages, openssl and Node.js for
#                             the demo's OpenID providers; no PostgreSQL,
#                             Redis, Prometheus or Chromium
#
# Debian packages are installed with apt-get, as root: run it as root, or
# as a user with sudo (it asks for the password once).
set -euo pipefail

demo_only=false
case "${1:-}" in
  --demo) demo_only=true ;;
  "") ;;
  *) echo "usage: $0 [--demo]" >&2; exit 2 ;;
esac

need_apt=()
# Building (both): Pingora's zlib, and webauthn-rs links OpenSSL.
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev pkg-config)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)    # keys and test certificates
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)        # the OpenID providers (demo and tests)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)

if ! $demo_only; then
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)                # the browser test
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)     # ... and its WebDriver
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)       # the Redis store's tests
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
# The PostgreSQL store's tests (initdb, postgres, psql in a temporary cluster).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)             # the alert rules' tests (promtool)
# Japanese glyphs in the browser suite's pages and screenshots.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt-get, as root)"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "setup: these Debian packages are missing: ${need_apt[*]}" >&2
      echo "setup: install them as root (apt-get install ${need_apt[*]}) and run this again" >&2
      exit 1
    fi
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
# The OpenID providers (npm oidc-provider, pinned by package-lock.json):
# the demo's Google and ADFS stand-ins, and the tests' providers.
oidc_dir="$root/tests/peers/oidc"
if [ ! -d "$oidc_dir/node_modules/oidc-provider" ]; then
  echo "setup: installing the OpenID provider (npm ci)"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
$demo_only && exit 0

# The SMTP sink of the end-to-end tests.
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "setup: installing aiosmtpd"
  python3 -m pip install -q aiosmtpd 2>/dev/null \
    || python3 -m pip install -q --break-system-packages aiosmtpd
fi

# scim2-tester, the python-scim project's RFC 7643/7644 checker, which the
# SCIM suite runs against a gateway (pinned).
scim_tester=('scim2-tester==0.5.2' 'scim2-client[httpx2]==0.13.2')
if ! python3 -c 'import httpx2, importlib.metadata as m; assert m.version("scim2-tester") == "0.5.2"' >/dev/null 2>&1; then
  echo "setup: installing scim2-tester"
  python3 -m pip install -q "${scim_tester[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${scim_tester[@]}"
fi

# axe-core, the accessibility engine the browser suite runs on every page
# (pinned by package-lock.json).
axe_dir="$root/tests/peers/axe"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  echo "setup: installing axe-core (npm ci)"
  (cd "$axe_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
