#!/usr/bin/env bash
# One-time setup of a fresh clone: system packages (OpenBLAS for the native kernels, a C++ toolchain
# for node-gyp, PyTorch for the torch training backend and its tests), npm dependencies from the
# lockfile, the native addon and the compiled CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libopenblas-dev g++ make python3 python3-torch chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "setup: need root to install ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# `npm install` (not `npm ci`): it installs the versions pinned in package-lock.json, but unlike
# `npm ci` it does not refuse a lockfile that lacks other platforms' optional prebuilt binaries
# (registry mirrors often carry only some of them).
npm install --no-audit --no-fund

# node-gyp needs Node's headers; offline it cannot download them, so point it at the headers installed
# beside this node binary when npm has not been told where they are.
node_prefix=$(dirname "$(dirname "$(command -v node)")")
nodedir=$(npm config get nodedir 2>/dev/null || true)
if { [ -z "$nodedir" ] || [ "$nodedir" = "undefined" ] || [ "$nodedir" = "null" ]; } && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
npm run build
