# Sourced by the bench scripts: build scripts/floor/floor.c (the kernel-floor reference) into
# $1/floor. Sets FLOOR to its path, or to empty when there is no C compiler (the column is then
# skipped), and exports BLIT_BENCH_FLOOR for the report. Needs `say` and the repository as cwd.
build_floor() {
  FLOOR=
  if command -v cc >/dev/null; then
    mkdir -p "$1"
    cc -O2 -pthread -o "$1/floor" scripts/floor/floor.c && FLOOR=$1/floor
  fi
  [ -n "$FLOOR" ] || say "no C compiler (cc): the kernel floor column is skipped"
  export BLIT_BENCH_FLOOR=${FLOOR:+yes}
}
