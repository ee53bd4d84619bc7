# Sourced by scripts/*.sh. apt_install_missing PKG...: installs the given Debian packages through
# apt-get when running as root (CI does), otherwise names them and fails. Callers decide which
# packages are missing; this is the one place that knows how to install them.
apt_install_missing() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    printf '== apt-get install %s\n' "$*" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing Debian packages: $* (install them, or run as root on Debian)" >&2
    exit 1
  fi
}
