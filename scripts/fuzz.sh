#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, each from its seeds (fuzz/seeds/NAME).
# CERTHALL_FUZZ_SECONDS: seconds per target (default 45; 0 skips, printing "skipped").
# Installs cargo-fuzz when missing; uses nightly when installed, otherwise stable with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags). A crash fails the run and its output, with the
# artifact path libFuzzer prints (fuzz/artifacts/NAME/crash-…), is kept in the log shown.
# Last line: "fuzz ok" or "fuzz FAILED (targets…)". Used by scripts/test.sh as its fuzz gate.
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${CERTHALL_FUZZ_SECONDS:-45}"
if [ "$secs" = 0 ]; then echo "fuzz skipped (CERTHALL_FUZZ_SECONDS=0)"; exit 0; fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (cargo install --locked cargo-fuzz; about a minute)"
    cargo install --locked --quiet cargo-fuzz || { echo "fuzz FAILED (cargo-fuzz did not install)"; exit 1; }
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    run=(cargo +nightly fuzz)
else
    run=(env RUSTC_BOOTSTRAP=1 cargo +stable fuzz)
fi
failed=()
for t in $(cargo fuzz list 2>/dev/null); do
    log="fuzz/last-$t.log"
    mkdir -p "fuzz/corpus/$t"
    # -rss_limit_mb: the upload check decodes images up to 100 MB (uploads::MAX_DECODED_BYTES).
    if "${run[@]}" run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -timeout=20 >"$log" 2>&1; then
        echo "fuzz $t: $(grep -E '^Done|#[0-9]+.*(DONE|pulse)' "$log" | tail -1)"
    else
        failed+=("$t")
        echo "fuzz $t FAILED; libFuzzer's output (fuzz/last-$t.log):"
        tail -40 "$log"
        grep -E 'Test unit written to|artifact_prefix' "$log" || true
    fi
done
if [ "${#failed[@]}" -eq 0 ]; then echo "fuzz ok"; else echo "fuzz FAILED (${failed[*]})"; exit 1; fi
