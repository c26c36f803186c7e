#!/usr/bin/env bash
# Coverage-guided fuzzing of the targets in fuzz-targets/ (cargo-fuzz, libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target (default: all) for SECONDS (default 60), one at a time, one job
# each, starting from the committed seeds in fuzz/corpus/<target>; new inputs go to
# fuzz/target/corpus/<target> (not committed), crashes to fuzz/artifacts/<target>.
# Prints a table: target, executions, coverage (libFuzzer cov: edges, ft: features),
# corpus size, crashes. Exits non-zero when a target crashed.
# Not part of the default test suite (the suite replays the corpora instead).
#
# Installs cargo-fuzz from crates.io when missing. cargo-fuzz passes nightly-only
# flags (-Z, -C passes=sancov-module); on a stable toolchain they are allowed with
# RUSTC_BOOTSTRAP=1, which this script sets for its cargo-fuzz commands only. The
# sanitizer is off by default (the code under test is safe Rust; overflow checks
# are on via debug assertions): FUZZ_SANITIZER=address to change it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-60}"
shift || true
ALL=(esp_decap ike_wire ike_engine cert config control)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
SANITIZER="${FUZZ_SANITIZER:-none}"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
echo "== building ${TARGETS[*]} (sanitizer $SANITIZER, debug assertions on)"
for t in "${TARGETS[@]}"; do
    cargo fuzz build -s "$SANITIZER" -a "$t"
done

LOGS="$CARGO_TARGET_DIR/fuzz-logs"
mkdir -p "$LOGS"
declare -a ROWS
status=0
for t in "${TARGETS[@]}"; do
    work="$CARGO_TARGET_DIR/corpus/$t"
    mkdir -p "$work" "$ROOT/fuzz/artifacts/$t"
    log="$LOGS/$t.log"
    echo "== $t: ${SECS}s (log $log)"
    set +e
    cargo fuzz run -s "$SANITIZER" -a "$t" "$work" "$ROOT/fuzz/corpus/$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -max_len=4096 2>&1 | tee "$log" |
        grep --line-buffered -E "#[0-9]+.*(pulse|REDUCE|NEW)|DONE|ERROR|panicked" |
        awk -v every=20 'NR % every == 1 || /DONE|ERROR|panicked/'
    rc=${PIPESTATUS[0]}
    set -e
    execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" | tail -1)
    last=$(grep -E "^#[0-9]+" "$log" | tail -1)
    cov=$(grep -oE "cov: [0-9]+" <<<"$last" | grep -oE "[0-9]+" || true)
    ft=$(grep -oE "ft: [0-9]+" <<<"$last" | grep -oE "[0-9]+" || true)
    corp=$(grep -oE "corp: [0-9]+" <<<"$last" | grep -oE "[0-9]+" || true)
    crashes=$(find "$ROOT/fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
    [ "$rc" -ne 0 ] && status=1
    ROWS+=("$(printf '%-11s %12s %7s %7s %6s %8s %4s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$rc")")
done

echo
printf '%-11s %12s %7s %7s %6s %8s %4s\n' target executions cov ft corpus crashes rc
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(${SECS}s per target, 1 job; crashes = files in fuzz/artifacts/<target>)"
exit $status
