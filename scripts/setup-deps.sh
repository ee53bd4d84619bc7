#!/usr/bin/env bash
# Installs what builds and tests need on a fresh Debian machine: Debian packages (only when a
# command is missing, and only as root) and the npm workspace packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v rsync >/dev/null || need_apt+=(rsync)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing Debian packages: ${need_apt[*]} (run as root, or install them)" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ "${CI:-}" = true ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi
