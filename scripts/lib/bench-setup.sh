# Sourced by the bench scripts (bench_local_mirror.sh, bench_remote.sh) once they have set ROOT (the
# repository, also their cwd), WORK, TREES and MKTREE: what both do before their first run.
. "$ROOT/scripts/lib/apt-install.sh"

say() { printf '== %s\n' "$*" >&2; }

# Destinations are moved aside between runs and deleted only after the last run: on a journal-less
# ext4 (this machine's root filesystem) every file created within minutes of deleting a big tree
# pays a kernel scan of the recently deleted inodes (DEVLOG 2026-11-21 h14-recv: the same pull of
# 100k files took 2.7 s of kernel CPU into a fresh directory, 8.2 s right after an rm -rf), a cost
# of the benchmark's own clean-up that a user copying into a new directory does not pay. A trash
# left by an interrupted run is removed before the runs start.
TRASH=$WORK/trash
discard() { local d; for d in "$@"; do [ -e "$d" ] && mv "$d" "$TRASH/${EPOCHREALTIME/./}-${d##*/}"; done; return 0; }

# make_tree KIND: $TREES/KIND from the workload generator, once (KIND.done marks a complete one).
make_tree() {
  local kind=$1
  if [ ! -f "$TREES/$kind.done" ]; then
    rm -rf "${TREES:?}/$kind"
    say "generating $kind"
    python3 "$MKTREE" "$kind" "$TREES/$kind"
    touch "$TREES/$kind.done"
  fi
}

# bench_prepare [COMMAND...]: installs what is missing (rsync, /usr/bin/time, python3 and the
# COMMANDs, each a Debian package of that name), checks the workload generator, builds blit (the
# native library too) and scripts/floor/floor.c into $WORK/floor. Sets FLOOR to the latter's path,
# or to empty when there is no C compiler (the column is then skipped); exports BLIT_BENCH_FLOOR and
# BLIT_BENCH_UNSET_CA for the report.
bench_prepare() {
  local need_apt=() c
  command -v rsync >/dev/null || need_apt+=(rsync)
  [ -x /usr/bin/time ] || need_apt+=(time)
  command -v python3 >/dev/null || need_apt+=(python3)
  for c in "$@"; do command -v "$c" >/dev/null || need_apt+=("$c"); done
  apt_install_missing ${need_apt[@]+"${need_apt[@]}"}
  [ -f "$MKTREE" ] || { echo "workload generator not found: $MKTREE (set BLIT_BENCH_MKTREE)" >&2; exit 1; }
  if [ ! -d node_modules ]; then say "npm ci"; npm ci --no-audit --no-fund >&2; fi
  # This sandbox sets NODE_EXTRA_CA_CERTS, which makes every Node process load the whole CA bundle at
  # start (~30 ms CPU per blit/blitd run, DEVLOG h17-startup). Blit never uses TLS and a user's machine
  # does not normally set it, so the runs go without it (BLIT_BENCH_KEEP_CA=1 keeps it); the header says so.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -z "${BLIT_BENCH_KEEP_CA:-}" ]; then export BLIT_BENCH_UNSET_CA="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; fi
  say "build"
  # The native library too: a checkout updated without `npm ci` keeps an old libblit_native.so,
  # whose ABI check then fails and sends blit down its slower node:fs path (2026-11-21: a remote run
  # measured that fallback, no-op 1.4x rsync).
  node native/scripts/build-native.js >&2
  npx tsc -b >&2 || { [ -f daemon/dist/src/cli/main.js ] && say "build reported errors; benchmarking the last good build"; }
  # And the one-file CLI bundle: daemon/bin/blit.js runs it only while it is newer than dist, so
  # after tsc rebuilt changed sources a stale bundle sent every run down the slower dist start
  # (no V8 code cache, ~+30 ms per run: no-op mirror 0.45 vs 0.48 s by A/B, 2026-11-21).
  node scripts/bundle-cli.js >&2
  FLOOR=
  if command -v cc >/dev/null; then
    mkdir -p "$WORK"
    cc -O2 -pthread -o "$WORK/floor" scripts/floor/floor.c && FLOOR=$WORK/floor
  fi
  [ -n "$FLOOR" ] || say "no C compiler (cc): the kernel floor column is skipped"
  export BLIT_BENCH_FLOOR=${FLOOR:+yes}
}
