#!/usr/bin/env bash
# Installs every Debian 12 package attune needs to build, run and test, plus the
# npm packages of the Node client and the vendored-data check. Idempotent: re-running
# installs nothing new. Must run as root (or with sudo available).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pkgs=$(cat "$here/packages/build.txt" "$here/packages/runtime.txt" "$here/packages/test.txt" \
       | sed -e 's/#.*//' -e 's/cmd=[^ ]*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

missing=()
for p in $pkgs; do
  # A package whose command is already on PATH from elsewhere (e.g. kubectl from another
  # vendor's package conflicts with Debian's kubernetes-client) is satisfied by that command.
  cmd=$(grep -hE "^$p[[:space:]].*cmd=" "$here"/packages/*.txt | sed -E 's/.*cmd=([^ ]+).*/\1/' | head -1 || true)
  if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present"
fi

# Node client dependencies (pinned by client/node/package-lock.json).
if [ -f "$top/client/node/package-lock.json" ] && [ ! -d "$top/client/node/node_modules/@grpc/grpc-js" ]; then
  echo "setup: npm ci for client/node"
  (cd "$top/client/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: done"
