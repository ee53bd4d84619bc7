#!/usr/bin/env bash
# Installs what builds and tests need on a fresh Debian machine: Debian packages (only when a
# command is missing, and only as root) and the npm workspace packages.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-install.sh

need_apt=()
command -v rsync >/dev/null || need_apt+=(rsync)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
# A CLI test stops blit at a syscall under strace to change a file mid-copy deterministically.
command -v strace >/dev/null || need_apt+=(strace)
# A data-plane test drops a port's packets silently (a firewall's DROP) with an nft rule on loopback.
command -v nft >/dev/null || need_apt+=(nftables)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || need_apt+=(libkrb5-dev)
apt_install_missing ${need_apt[@]+"${need_apt[@]}"}

if [ ! -d node_modules ] || [ "${CI:-}" = true ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

# The native batch library (small-file copies in one foreign call): npm ci builds it; this also
# covers a checkout whose node_modules predate it or whose C source changed since. Optional: the
# build prints one warning and blit keeps its per-file path when there is no C compiler.
native_fresh() {
  local f
  for f in $(find native/csrc -type f); do [ native/build/libblit_native.so -nt "$f" ] || return 1; done # third_party/ too
}
native_fresh || node native/scripts/build-native.js
