#!/usr/bin/env bash
# The whole test suite: installs what it needs, then formatting, lints, unit and
# vector tests, RTL-vs-software simulation, driver fallback, and the end-to-end
# scenarios in network namespaces. Run as root on Debian 12. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "setup"
"$here/scripts/setup.sh"
export IPSEC_PYTHON="$here/.venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
# --no-fail-fast: one failing test binary does not hide the results of the others
cargo test --workspace --locked --profile ci --no-fail-fast 2>&1 | tee target/test.log
# summary line that CI reads
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, i }' target/test.log
