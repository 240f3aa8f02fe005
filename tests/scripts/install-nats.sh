#!/usr/bin/env bash
# Installs the NATS server the benchmark compares sync178 with (Debian package
# `nats-server`, 2.9 on bookworm) when it is not on PATH, then prints its
# version. Run as root (or with sudo available). `bench all` runs it itself in
# a full run; `bench all --quick` (the smoke test) never does.
set -euo pipefail

if ! command -v nats-server >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends nats-server
fi
nats-server --version
