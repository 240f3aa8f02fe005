#!/usr/bin/env bash
# The README's test command: installs what the tests need when this machine
# lacks it, says what it installs, then runs the whole suite.
#
#   cargo-nextest              from crates.io (`cargo install cargo-nextest --locked`)
#   chromium, chromedriver     Debian's packages (tests/scripts/install-browser.sh),
#                              for the operator web page's end-to-end test
#   nats-server                Debian's package (tests/scripts/install-nats.sh),
#                              for the benchmark's NATS comparison
#
# Nothing is skipped: a test that cannot find a tool fails and names the step
# above. An install that fails (no network, no root) stops here with one line
# naming the package and the command to run by hand, exit 1; cargo and apt
# put nothing in place that a later run would trust half-installed.
#
# Arguments go to `cargo nextest run --workspace`, e.g.
#   tests/scripts/test-all.sh -E 'test(local_cluster)'
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=tests/scripts
LOG=$(mktemp -t sync178-install.XXXXXX)
trap 'rm -f "$LOG"' EXIT

say() { echo "test-all: $*" >&2; }

# Runs an install step quietly; on failure prints its last lines and one line
# naming what to run by hand, and stops.
install_step() {
    local what=$1 from=$2 by_hand=$3
    shift 3
    say "installing $what ($from)"
    if ! "$@" >"$LOG" 2>&1; then
        tail -n 5 "$LOG" | sed 's/^/  | /' >&2
        say "could not install $what; run by hand: $by_hand"
        exit 1
    fi
}

if ! cargo nextest --version >/dev/null 2>&1; then
    install_step cargo-nextest "crates.io; a few minutes on two cores" \
        "cargo install cargo-nextest --locked" \
        cargo install cargo-nextest --locked
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    install_step "chromium and chromium-driver" "Debian's packages" \
        "bash $HERE/install-browser.sh" \
        bash "$HERE/install-browser.sh"
fi

if ! command -v nats-server >/dev/null 2>&1; then
    install_step nats-server "Debian's package" \
        "bash $HERE/install-nats.sh" \
        bash "$HERE/install-nats.sh"
fi

say "$(cargo nextest --version | head -n 1); $(chromium --version); $(nats-server --version)"
say "running: cargo nextest run --workspace --no-fail-fast $*"
exec cargo nextest run --workspace --no-fail-fast "$@"
