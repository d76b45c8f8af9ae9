#!/usr/bin/env bash
# Sets up the machine, then runs every check and test of the workspace:
# formatting, clippy, unit tests, the store conformance suite and the
# end-to-end tests against the real binary and real peers.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cargo fmt --all -- --check
./scripts/check-shape.sh
# No import circle between the modules of any crate.
python3 scripts/module_circles.py policy/src pages/src config/src store/src breached/src gateway/src loadtest/src tests/src
# No production file over 1,200 lines, no function over 120.
python3 scripts/sizes.py policy/src pages/src config/src store/src breached/src gateway/src loadtest/src
cargo clippy --workspace --all-targets --features sekisho/conformance,sekisho-store/conformance -- -D warnings
# The end-to-end tests spawn these binaries; build them before they start.
cargo build -p sekisho --bin sekisho -p sekisho-loadtest
cargo test --workspace --features sekisho/conformance,sekisho-store/conformance
