#!/usr/bin/env bash
# Installs Debian's headless browser for the operator web page's end-to-end
# test (tests/tests/it/web_e2e.rs): packages `chromium` and `chromium-driver`
# (/usr/bin/chromium, /usr/bin/chromedriver), when either is missing, then
# prints both versions. Run as root (or with sudo available). The test never
# downloads a browser of its own; it fails with a pointer to this script.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core
fi
chromium --version
chromedriver --version
