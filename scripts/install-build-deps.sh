#!/usr/bin/env bash
# Ensure the Debian packages the Rust build needs are present: OpenSSL's headers and pkg-config
# (librdkafka is built with TLS and SASL/SCRAM against the system OpenSSL), a C toolchain and
# make (librdkafka is compiled from source). Idempotent: installs nothing when all are present.
set -euo pipefail

packages=(libssl-dev pkg-config build-essential)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-build-deps: present (${packages[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-build-deps: missing ${missing[*]}, and not root without sudo: install them with apt-get" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-build-deps: installing ${missing[*]} from Debian packages"
$SUDO apt-get update -y
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
