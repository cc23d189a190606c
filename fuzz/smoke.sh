#!/usr/bin/env bash
# Fuzz smoke: every target for FUZZ_SECONDS (default 20) seconds on stable Rust, without a
# sanitizer, starting from the committed corpus. New inputs go to fuzz/target/smoke-corpus/, so
# the committed corpus stays as it is; a crash is saved under fuzz/artifacts/<target>/ and fails
# the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo fuzz build -s none
for target in envelope_decode session_decrypt handshake_respond interaction content_decode agreement_decode store_record endpoint_batch device_decode clinic; do
    scratch="fuzz/target/smoke-corpus/$target"
    log="fuzz/target/smoke-$target.log"
    mkdir -p "$scratch"
    echo "-- $target (${seconds}s)"
    if ! cargo fuzz run -s none "$target" "$scratch" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" >"$log" 2>&1; then
        tail -n 40 "$log"
        exit 1
    fi
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
done
