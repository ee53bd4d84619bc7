#!/usr/bin/env bash
# Local benchmark (issue 3): blit against rsync -a and cp -a (and rclone sync when installed) on
# identical deterministic trees, tools run alternately (rotating order), destination removed
# between runs. Prints a markdown table: median seconds per tool, blit's ratio to the best other
# tool and to its target, blit's peak RSS and time to first byte written.
# Kernel floor (small and mixed): `floor local` of scripts/floor/floor.c (compiled here with cc,
# skipped without one): one thread, getdents64 + fstat, read, temp + write + futimens + rename per
# file, dir modes/mtimes last; no checks beyond that. Not a competitor (not in "best other"): what a
# plain single-thread C copy with blit's atomicity costs on this machine, checked with rsync -ani.
#
#   bash scripts/bench_local_mirror.sh            # from a fresh clone: installs what it needs
#
# Environment:
#   BLIT_BENCH_DIR        work dir (trees, destinations, results); default <repo>/.bench (gitignored)
#   BLIT_BENCH_MKTREE     workload generator; default <repo>/../shared/bench/mktree.py
#   BLIT_BENCH_RUNS       runs per tool and scenario; default 3
#   BLIT_BENCH_SCENARIOS  subset of "large small mixed noop incremental"
#   BLIT_BENCH_FRESH_HISTORY=1  start blit with an empty perf history (default: keep what earlier
#                         bench runs taught it, as on a user's machine; kept in $BLIT_BENCH_DIR/xdg)
# Trees are generated once and reused (delete $BLIT_BENCH_DIR/trees to regenerate).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${BLIT_BENCH_DIR:-$ROOT/.bench}
MKTREE=${BLIT_BENCH_MKTREE:-$ROOT/../shared/bench/mktree.py}
RUNS=${BLIT_BENCH_RUNS:-3}
SCENARIOS=${BLIT_BENCH_SCENARIOS:-large small mixed noop incremental}
TREES=$WORK/trees
DST=$WORK/dst
RAW=$WORK/raw.tsv
export XDG_CONFIG_HOME=$WORK/xdg   # blit's perf history for bench runs lives here, not in ~/.config

. "$ROOT/scripts/lib/bench-setup.sh"
bench_prepare
BLIT=(node "$ROOT/daemon/bin/blit.js")
HAVE_RCLONE=0; command -v rclone >/dev/null && HAVE_RCLONE=1

mkdir -p "$TREES" "$DST" "$XDG_CONFIG_HOME"
[ "${BLIT_BENCH_FRESH_HISTORY:-0}" = 1 ] && rm -f "$XDG_CONFIG_HOME/blit/perf_local.jsonl"

# --- trees (generated once: make_tree) --------------------------------------------------------------------
make_small_inc() { # small + touch1 (1% of files changed), the source of the incremental mirror
  if [ ! -f "$TREES/small-inc.done" ]; then
    rm -rf "$TREES/small-inc"
    say "generating small-inc (small + touch1)"
    cp -a "$TREES/small" "$TREES/small-inc"
    python3 "$MKTREE" touch1 "$TREES/small-inc"
    touch "$TREES/small-inc.done"
  fi
}

# --- one timed run -----------------------------------------------------------------------------
clean_dst() { discard "$DST"/*; sync; }

run_tool() { # scenario tool src dst mirror(0|1) run
  local scen=$1 tool=$2 src=$3 dst=$4 mirror=$5 run=$6 cmd
  case $tool in
    blit) cmd=("${BLIT[@]}" mirror "$src/" "$dst/" --yes --json --no-progress) ;;
    rsync) if [ "$mirror" = 1 ]; then cmd=(rsync -a --delete "$src/" "$dst/"); else cmd=(rsync -a "$src/" "$dst/"); fi ;;
    cp) cmd=(cp -a "$src" "$dst") ;;
    rclone) cmd=(rclone sync --transfers 8 --links "$src" "$dst") ;;
    floor) cmd=("$FLOOR" local "$src" "$dst") ;;
  esac
  local t0 t1 rc=0
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$WORK/rss" "${cmd[@]}" >"$WORK/out" 2>"$WORK/err" || rc=$?
  t1=$EPOCHREALTIME
  sync
  local secs rss fb=- check=ok
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rss=$(tail -n 1 "$WORK/rss")
  if [ "$tool" = blit ] || [ "$tool" = floor ]; then
    if [ "$tool" = blit ]; then
      fb=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=j.get("firstByteMs"); print("-" if v is None else v)' "$WORK/out" 2>/dev/null || echo -)
    fi
    # Trust but verify: rsync must find nothing left to do.
    local left
    left=$(rsync -a -n -i --delete "$src/" "$dst/" | wc -l)
    [ "$left" = 0 ] || check="MISMATCH($left)"
  fi
  [ "$rc" = 0 ] || { check="EXIT$rc"; say "$tool failed on $scen: $(head -c 400 "$WORK/err")"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$tool" "$run" "$secs" "$rss" "$fb" "$check" >>"$RAW"
  say "$scen run $run $tool: ${secs}s rss=${rss}KiB firstByte=${fb}ms $check"
}

tools_for() { # scenario → tools in rotation order for run N
  local scen=$1 run=$2 list
  case $scen in
    noop|incremental) list=(blit rsync) ;;
    *) list=(blit rsync cp) ;;
  esac
  [ "$HAVE_RCLONE" = 1 ] && list+=(rclone)
  case $scen in small|mixed) [ -n "$FLOOR" ] && list+=(floor) ;; esac
  local n=${#list[@]} i
  for ((i = 0; i < n; i++)); do printf '%s ' "${list[$(((i + run) % n))]}"; done
}

scenario() { # name
  local scen=$1 src mirror=0 run tool
  case $scen in
    large|small|mixed) make_tree "$scen"; src=$TREES/$scen ;;
    noop) make_tree small; src=$TREES/small; mirror=1 ;;
    incremental) make_tree small; make_small_inc; src=$TREES/small-inc; mirror=1 ;;
    *) echo "unknown scenario $scen" >&2; exit 64 ;;
  esac
  say "scenario $scen"
  for ((run = 1; run <= RUNS; run++)); do
    for tool in $(tools_for "$scen" "$run"); do
      case $scen in
        noop) # an up-to-date copy, prepared untimed; a correct no-op leaves it as it is
          if [ ! -d "$DST/noop" ]; then clean_dst; cp -a "$src" "$DST/noop"; sync; fi ;;
        incremental) # reset to the pre-touch1 state untimed (rsync re-copies the 1% changed)
          if [ ! -d "$DST/incremental" ]; then clean_dst; cp -a "$TREES/small" "$DST/incremental"; fi
          rsync -a --delete "$TREES/small/" "$DST/incremental/"; sync ;;
        *) clean_dst ;;
      esac
      run_tool "$scen" "$tool" "$src" "$DST/$scen" "$mirror" "$run"
    done
  done
  clean_dst
}

: >"$RAW"
rm -rf "${TRASH:?}"; mkdir -p "$TRASH"
START=$EPOCHREALTIME
for s in $SCENARIOS; do scenario "$s"; done
ELAPSED=$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
say "removing the runs' destinations"
rm -rf "${TRASH:?}"

# --- report ------------------------------------------------------------------------------------
BLIT_BENCH_WORK=$WORK python3 - "$RAW" "$ELAPSED" "$RUNS" <<'PY'
import statistics, subprocess, sys, os
raw, elapsed, runs = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [l.rstrip('\n').split('\t') for l in open(raw) if l.strip()]
by = {}
for scen, tool, run, secs, rss, fb, check in rows:
    by.setdefault(scen, {}).setdefault(tool, []).append((float(secs), int(rss or 0), fb, check))
# target: (reference tools, factor) -- blit's median must be <= factor * min(reference medians)
targets = {'large': (['cp'], 1.1), 'small': (['rsync'], 0.5), 'mixed': (['rsync', 'cp'], 0.7),
           'noop': (['rsync'], 1.0), 'incremental': (['rsync'], 1.0)}
names = {'large': 'large (1 GiB)', 'small': 'small (100k files)', 'mixed': 'mixed (20k files)',
         'noop': 'no-op mirror of small', 'incremental': 'incremental mirror (1%)'}
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return '?'
env = [sh('date -u +%Y-%m-%dT%H:%MZ'), 'commit ' + sh('git rev-parse --short HEAD'), f'{os.cpu_count()} cores',
       'Linux ' + sh('uname -r'), sh('stat -f -c %T "$BLIT_BENCH_WORK"'), 'node ' + sh('node --version'),
       sh("rsync --version | head -1 | awk '{print $1, $3}'")]
if os.environ.get('BLIT_BENCH_UNSET_CA'): env.append('NODE_EXTRA_CA_CERTS unset for the runs')
print('\nBlit local benchmark: ' + ', '.join(env) + f'; medians of {runs} runs, warm page cache, total {elapsed} s\n')
tools = ['blit', 'rsync', 'cp', 'rclone', 'floor']
present = [t for t in tools if any(t in d for d in by.values())]
if os.environ.get('BLIT_BENCH_FLOOR'):
    print('floor = scripts/floor/floor.c `local`: a plain single-thread C copy with temp + rename and mtimes, '
          'only the unavoidable syscalls (a reference, not in "best other").\n')
print('| scenario | ' + ' | '.join(f'{t} (s)' for t in present) + ' | blit / best other | target | met | blit peak RSS | blit first byte |')
print('|---|' + '---|' * len(present) + '---|---|---|---|---|')
for scen in ['large', 'small', 'mixed', 'noop', 'incremental']:
    if scen not in by: continue
    d = by[scen]
    # Medians over runs that finished (a failed run has no time; a MISMATCH run is timed but flagged).
    med = {t: statistics.median(ok) for t in d if (ok := [x[0] for x in d[t] if not x[3].startswith('EXIT')])}
    bad = {t: [c for *_, c in d[t] if c != 'ok'] for t in d}
    cells = []
    for t in present:
        if t not in d: cells.append('-'); continue
        cells.append((f'{med[t]:.2f}' if t in med else 'failed') + (f' ({",".join(bad[t])})' if bad[t] else ''))
    others = [med[t] for t in med if t not in ('blit', 'floor')]
    ratio = f"{med['blit'] / min(others):.2f}x" if 'blit' in med and others else '-'
    refs, factor = targets[scen]
    refmed = [med[t] for t in refs if t in med]
    met = 'NO (blit failed)' if 'blit' in d and 'blit' not in med else '-'
    if 'blit' in med and refmed:
        met = 'yes' if med['blit'] <= factor * min(refmed) and not bad['blit'] else 'NO'
        met += f" ({med['blit'] / min(refmed):.2f}x)"
    rss = max((r for _, r, *_ in d.get('blit', [])), default=0)
    fbs = [float(f) for _, _, f, _ in d.get('blit', []) if f not in ('-', '', 'None')]
    fb = f'{max(fbs):.0f} ms' if fbs else '-'
    print(f"| {names[scen]} | " + ' | '.join(cells) + f" | {ratio} | <= {factor} x {' / '.join(refs)} | {met} | {rss / 1024:.0f} MiB | {fb} |")
allfb = [(float(f), scen) for scen, d in by.items() for _, _, f, _ in d.get('blit', []) if f not in ('-', '', 'None')]
if allfb:
    worst, where = max(allfb)
    print(f"\nFirst byte <= 1 s in every scenario: {'yes' if worst <= 1000 else 'NO'} (worst {worst:.0f} ms, {where}).")
# Every run's time, so a reader sees the spread the medians hide (1 GiB rows swing with writeback).
print('\nSpread (each run in seconds, in run order):')
for scen, d in by.items():
    print(f"- {names[scen]}: " + '; '.join(f"{t} " + ' '.join(f'{x[0]:.2f}' for x in runs_) for t, runs_ in d.items()))
if 'small' in by and 'blit' in by['small']:
    peak = max(r for _, r, *_ in by['small']['blit']) / 1024
    print(f"Peak RSS during small <= 300 MiB: {'yes' if peak <= 300 else 'NO'} ({peak:.0f} MiB).")
PY
