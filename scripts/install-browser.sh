#!/usr/bin/env bash
# Ensure a Chromium for the dashboard browser test is present (/usr/bin/chromium).
# Idempotent: returns immediately when the binary already exists.
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$CHROMIUM_PATH" ]; then
  echo "install-browser: chromium present at $CHROMIUM_PATH"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser: not root and sudo not available; cannot install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing chromium from Debian packages"
$SUDO apt-get update -y
$SUDO apt-get install -y --no-install-recommends chromium fonts-liberation

if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "install-browser: chromium still missing at $CHROMIUM_PATH after install" >&2
  exit 1
fi
echo "install-browser: installed $("$CHROMIUM_PATH" --version 2>/dev/null || echo chromium)"
