#!/usr/bin/env bash
# The project's test command: tests, doctests, rustdoc, rustfmt check and clippy.
#
#   scripts/test.sh
#
# Runs every step, even after one fails, then prints a summary and exits
# non-zero if any step failed. It needs the Node.js peers in tests/ (it
# installs them with `npm ci` when tests/node_modules is missing) and, for
# the Redis adapter tests, a Redis on 127.0.0.1:6379 (.ci/run starts one).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() {
    printf '\n==================== %s ====================\n' "$*"
}

failed=()
passed=()

# step NAME CMD...: run CMD, record the outcome under NAME, never abort.
step() {
    local name="$1"
    shift
    section "$name"
    echo "+ $*"
    if "$@"; then
        passed+=("$name")
    else
        echo "!! step '$name' failed (exit $?)"
        failed+=("$name")
    fi
}

if [[ -f tests/package-lock.json && ! -d tests/node_modules ]]; then
    section "npm ci (tests/)"
    npm ci --prefix tests --no-audit --no-fund --loglevel=error
fi

if cargo nextest --version >/dev/null 2>&1; then
    step "tests (cargo nextest)" cargo nextest run --workspace --no-tests=warn
    # nextest does not run doctests.
    step "doctests" cargo test --workspace --doc
else
    # Plain `cargo test` runs the doctests too.
    step "tests (cargo test)" cargo test --workspace
fi

# Broken intra-doc links and other rustdoc warnings fail the run.
step "rustdoc" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features
step "rustfmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings

section "summary"
for s in "${passed[@]+"${passed[@]}"}"; do
    echo "ok      $s"
done
for s in "${failed[@]+"${failed[@]}"}"; do
    echo "FAILED  $s"
done

if ((${#failed[@]} > 0)); then
    exit 1
fi
echo "all steps passed"
