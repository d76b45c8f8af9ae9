#!/usr/bin/env bash
# Draws the quick start's screenshots (docs/screenshots/*.png) in headless
# Chromium, from a gateway with the demo's branding.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test -p sekisho-tests --test pages_audit -- --ignored screenshots
ls -1 docs/screenshots
