#!/usr/bin/env bash
# Remote benchmark (issue 4, Speed): blit push/pull through blitd against rsync through an rsync
# daemon (rsync://127.0.0.1), both on loopback, same trees as the local benchmark; tools run
# alternately, destination removed between runs (except the no-op mirror). Also measures the
# loopback TCP ceiling with iperf3 and reports blit's large-file throughput against it.
# Kernel floor: scripts/floor/floor.c (compiled here with cc; the column says "no cc" without one)
# copies the same tree over loopback TCP doing only the unavoidable work: sender walks (getdents64 +
# fstat), reads each file into a batch buffer (sendfile for files over 128 KiB), 2 sockets; receiver
# (a forked process) reads each socket into one reused buffer (splice for big files), creates every
# file as temp + write + futimens + rename (blit's atomicity, no fsync), dir modes/mtimes last. No
# checksums, no protocol beyond framing. It runs as a third tool in every copy scenario (same fresh
# destinations, same runs, rotating order, output checked with rsync -ani); it is direction-free, so
# its push and pull rows measure the same thing twice. floor / rsync is the best ratio any tool could
# reach on this machine: a target below it cannot be met.
#
#   bash scripts/bench_remote.sh
#
# Environment: BLIT_BENCH_DIR, BLIT_BENCH_MKTREE, BLIT_BENCH_RUNS (as bench_local_mirror.sh),
#   BLIT_BENCH_SCENARIOS  subset of "push-large push-small push-mixed push-noop pull-large pull-small pull-mixed pull-noop"
# push-noop / pull-noop: mirror of `small` into an up-to-date tree (nothing to send; each tool keeps
# its own destination, made once per scenario with cp -a, so both start from the same state).
# Before a copy scenario's runs its source tree is read once into the page cache, so every tool in
# both directions reads a cached source (the state of a tree just written or just copied before).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${BLIT_BENCH_DIR:-$ROOT/.bench}
MKTREE=${BLIT_BENCH_MKTREE:-$ROOT/../shared/bench/mktree.py}
RUNS=${BLIT_BENCH_RUNS:-3}
SCENARIOS=${BLIT_BENCH_SCENARIOS:-push-large push-small push-mixed push-noop pull-large pull-small pull-mixed pull-noop}
TREES=$WORK/trees
R=$WORK/remote            # daemon-side roots and client-side destinations
RAW=$WORK/raw-remote.tsv
export XDG_CONFIG_HOME=$WORK/xdg

. "$ROOT/scripts/lib/bench-setup.sh"
bench_prepare iperf3

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$TREES" "$R/rsync-in" "$R/blit-in" "$R/floor-in" "$R/out" "$XDG_CONFIG_HOME"
for k in large small mixed; do make_tree "$k"; done

# --- servers on loopback -----------------------------------------------------------------------
RPORT=$(free_port)
cat >"$R/rsyncd.conf" <<EOF
port = $RPORT
address = 127.0.0.1
use chroot = no
pid file = $R/rsyncd.pid
log file = $R/rsyncd.log
[in]
path = $R/rsync-in
read only = no
uid = root
gid = root
[trees]
path = $TREES
read only = yes
uid = root
gid = root
EOF
rm -f "$R/rsyncd.pid"
rsync --daemon --config="$R/rsyncd.conf"

BPORT=$(free_port)
cat >"$R/blitd.toml" <<EOF
bind = "127.0.0.1"
port = $BPORT
[[module]]
name = "in"
path = "$R/blit-in"
[[module]]
name = "trees"
path = "$TREES"
read_only = true
EOF
node daemon/bin/blitd.js --config "$R/blitd.toml" --log "$R/blitd.log" >>"$R/blitd.log" 2>&1 &
BLITD_PID=$!
cleanup() {
  kill "$BLITD_PID" 2>/dev/null || true
  [ -f "$R/rsyncd.pid" ] && kill "$(cat "$R/rsyncd.pid")" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do
  node daemon/bin/blit.js list-modules "127.0.0.1:$BPORT" >/dev/null 2>&1 && break
  sleep 0.2
done

# --- one timed run -----------------------------------------------------------------------------
run_tool() { # scenario tool run
  local scen=$1 tool=$2 run=$3 dir=${1%%-*} kind=${1#*-} cmd src dst check_dst
  [ "$kind" = noop ] && kind=small
  if [ "$dir" = push ]; then
    src=$TREES/$kind
    case $tool in
      blit) dst=127.0.0.1:$BPORT:/in/$kind; check_dst=$R/blit-in/$kind ;;
      rsync) dst=rsync://127.0.0.1:$RPORT/in/$kind; check_dst=$R/rsync-in/$kind ;;
      floor) dst=$R/floor-in/$kind; check_dst=$dst ;;
    esac
  else
    case $tool in
      blit) src=127.0.0.1:$BPORT:/trees/$kind ;;
      rsync) src=rsync://127.0.0.1:$RPORT/trees/$kind ;;
      floor) src=$TREES/$kind ;;
    esac
    dst=$R/out/$kind; check_dst=$dst
    # pull-noop: each tool mirrors into its own up-to-date copy (prepare made both).
    [ "$scen" = pull-noop ] && { dst=$R/out/$tool-$kind; check_dst=$dst; }
  fi
  case $tool in
    blit) cmd=(node daemon/bin/blit.js mirror "$src/" "$dst/" --yes --json --no-progress) ;;
    rsync) cmd=(rsync -a --delete "$src/" "$dst/") ;;
    floor) cmd=("$FLOOR" net "$src" "$dst") ;;
  esac
  local t0 t1 rc=0 secs rss fb=- check=ok bps=-
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$R/rss" "${cmd[@]}" >"$R/stdout" 2>"$R/stderr" || rc=$?
  t1=$EPOCHREALTIME
  sync
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rss=$(tail -n 1 "$R/rss")
  if [ "$tool" != rsync ]; then
    if [ "$tool" = blit ]; then
      read -r fb bps < <(python3 -c 'import json,sys
j=json.load(open(sys.argv[1])); f=j.get("firstByteMs"); b=j.get("bytesPerSecond")
print("-" if f is None else f, "-" if b is None else b)' "$R/stdout" 2>/dev/null || echo "- -")
    fi
    local left
    left=$(rsync -a -n -i --delete "$TREES/$kind/" "$check_dst/" | wc -l)
    [ "$left" = 0 ] || check="MISMATCH($left)"
  fi
  [ "$rc" = 0 ] || { check="EXIT$rc"; say "$tool failed on $scen: $(head -c 400 "$R/stderr")"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$tool" "$run" "$secs" "$rss" "$fb" "$check" "$bps" >>"$RAW"
  say "$scen run $run $tool: ${secs}s rss=${rss}KiB firstByte=${fb}ms $check"
}

# Every tool reads a cached source, push and pull alike: the source tree is read into the page
# cache before a copy scenario's runs. Without it the first scenario (push-large) read 1 GiB from
# disk in its first run, a cost of 1-2 s on this machine that a pull-large run later never paid
# (DEVLOG 2026-11-21 h26-large: push-large looked 2x slower than pull-large for every tool, the
# direction-free floor included).
warm() { find "$TREES/$1" -type f -print0 | xargs -0 -r cat >/dev/null; }

prepare() { # scenario: fresh destinations, or up-to-date ones for the no-op mirror
  local scen=$1
  case $scen in
    push-noop)
      for d in "$R/rsync-in/small" "$R/blit-in/small"; do
        [ -d "$d" ] || cp -a "$TREES/small" "$d"
      done ;;
    pull-noop)
      for d in "$R/out/rsync-small" "$R/out/blit-small"; do
        [ -d "$d" ] || cp -a "$TREES/small" "$d"
      done ;;
    # One big file is one inode (no scan cost to speak of), and 3 tools x runs x 1 GiB in a trash
    # would fill a shared disk: large destinations are deleted right away.
    *-large) rm -rf "$R/rsync-in/"* "$R/blit-in/"* "$R/floor-in/"* "$R/out/"* ;;
    push-*) discard "$R/rsync-in/"* "$R/blit-in/"* "$R/floor-in/"* ;;
    pull-*) discard "$R/out/"* ;;
  esac
  sync
}

: >"$RAW"
rm -rf "${TRASH:?}"; mkdir -p "$TRASH"
START=$EPOCHREALTIME
for scen in $SCENARIOS; do
  say "scenario $scen"
  case $scen in *-noop) prepare "$scen" ;; *) warm "${scen#*-}" ;; esac
  for ((run = 1; run <= RUNS; run++)); do
    tools=(blit rsync)
    case $scen in *-noop) ;; *) [ -n "$FLOOR" ] && tools+=(floor) ;; esac
    order=
    for ((i = 0; i < ${#tools[@]}; i++)); do order+="${tools[$(((i + run - 1) % ${#tools[@]}))]} "; done
    for tool in $order; do
      case $scen in *-noop) ;; *) prepare "$scen" ;; esac
      run_tool "$scen" "$tool" "$run"
    done
  done
  discard "$R/rsync-in/"* "$R/blit-in/"* "$R/floor-in/"* "$R/out/"*
  # The trash holds every run's copy (up to ~10 GiB per mixed scenario) and the disk may be shared:
  # below 16 GiB free it is emptied between scenarios (the next scenario's first creates may then
  # pay ext4's scan of recently deleted inodes; the report says when this happened).
  if [ "$(df -Pk "$TRASH" | awk 'NR == 2 { print $4 }')" -lt $((16 * 1024 * 1024)) ]; then
    say "less than 16 GiB free: emptying the trash after $scen"
    rm -rf "${TRASH:?}"; mkdir -p "$TRASH"
    TRASH_EMPTIED+="$scen "
  fi
done
say "removing the runs' destinations"
rm -rf "${TRASH:?}"

say "iperf3 loopback ceiling"
IPORT=$(free_port)
iperf3 -s -1 -p "$IPORT" -B 127.0.0.1 >/dev/null 2>&1 &
sleep 0.5
CEILING=$(iperf3 -c 127.0.0.1 -p "$IPORT" -t 3 -J 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' || echo 0)
ELAPSED=$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

LARGE_BYTES=$(du -sb "$TREES/large" | cut -f1)
BLIT_BENCH_TRASH_EMPTIED=${TRASH_EMPTIED:-} python3 - "$RAW" "$ELAPSED" "$RUNS" "$CEILING" "$LARGE_BYTES" <<'PY'
import os, statistics, subprocess, sys
raw, elapsed, runs, ceiling, large_bytes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4] or 0), int(sys.argv[5])
by = {}
for l in open(raw):
    if not l.strip(): continue
    scen, tool, run, secs, rss, fb, check, bps = l.rstrip('\n').split('\t')
    by.setdefault(scen, {}).setdefault(tool, []).append((float(secs), int(rss or 0), fb, check, bps))
def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
print(f"\nBlit remote benchmark (loopback): {sh('date -u +%Y-%m-%dT%H:%MZ')}, commit {sh('git rev-parse --short HEAD')}, "
      f"{os.cpu_count()} cores, node {sh('node --version')}; medians of {runs} runs, total {elapsed} s; "
      f"iperf3 loopback ceiling {ceiling / 1e9:.1f} Gbit/s"
      + ("; NODE_EXTRA_CA_CERTS unset for the runs" if os.environ.get('BLIT_BENCH_UNSET_CA') else '') + "\n")
floor = bool(os.environ.get('BLIT_BENCH_FLOOR'))
print("Kernel floor: scripts/floor/floor.c, the same tree over loopback TCP with only the unavoidable work "
      "(walk, read, 2 sockets, temp + write + mtime + rename, no checksums, no protocol); direction-free. "
      "floor / rsync = the best ratio any tool could reach here."
      if floor else "Kernel floor: skipped (no C compiler).")
if os.environ.get('BLIT_BENCH_TRASH_EMPTIED'):
    print(f"Low disk: the trash of old destinations was emptied after {os.environ['BLIT_BENCH_TRASH_EMPTIED'].strip()}; "
          "the scenario after each may have paid ext4's scan of recently deleted inodes.")
print()
print('| scenario | blit (s) | rsync daemon (s) | kernel floor (s) | blit / rsync | floor / rsync | blit / floor | target | met | blit peak RSS | blit first byte |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
for scen, d in by.items():
    # Medians over runs that finished (a failed run has no time; a MISMATCH run is timed but flagged).
    med = {t: statistics.median(ok) for t in d if (ok := [x[0] for x in d[t] if not x[3].startswith('EXIT')])}
    bad = [c for *_, c, _ in d.get('blit', []) if c != 'ok']
    factor = 1.0 if scen.endswith('noop') else (0.5 if scen.split('-')[1] in ('large', 'small') else None)
    ratio = med['blit'] / med['rsync'] if 'blit' in med and 'rsync' in med else None
    met = '-' if factor is None else ('NO (blit failed)' if ratio is None and 'blit' in d else
          '-' if ratio is None else ('yes' if ratio <= factor and not bad else 'NO'))
    rss = max((r for _, r, *_ in d.get('blit', [])), default=0)
    fbs = [float(f) for _, _, f, _, _ in d.get('blit', []) if f not in ('-', '')]
    b = (f"{med['blit']:.2f}" if 'blit' in med else 'failed') + (f" ({','.join(bad)})" if bad else '')
    extra = ''
    if scen.endswith('large') and 'blit' in med and ceiling:
        gbit = large_bytes * 8 / med['blit'] / 1e9  # wall time, process start included
        extra = f' ({gbit:.1f} Gbit/s = {100 * gbit * 1e9 / ceiling:.0f}% of loopback)'
    fbcell = f'{max(fbs):.0f} ms' if fbs else '-'
    rs = f"{med['rsync']:.2f}" if 'rsync' in med else '-'
    fbad = [c for *_, c, _ in d.get('floor', []) if c != 'ok']
    fl = ('-' if 'floor' not in d else (f"{med['floor']:.2f}" if 'floor' in med else 'failed')) + (f" ({','.join(fbad)})" if fbad else '')
    fr = f"{med['floor'] / med['rsync']:.2f}x" if 'floor' in med and 'rsync' in med else '-'
    bf = f"{med['blit'] / med['floor']:.2f}x" if 'floor' in med and 'blit' in med else '-'
    print(f"| {scen}{extra} | {b} | {rs} | {fl} | {'-' if ratio is None else f'{ratio:.2f}x'} | {fr} | {bf} | "
          f"{'-' if factor is None else f'<= {factor} x rsync'} | {met} | {rss / 1024:.0f} MiB | {fbcell} |")
# Every run's time, so a reader sees the spread the medians hide (1 GiB rows swing with writeback).
print('\nSpread (each run in seconds, in run order):')
for scen, d in by.items():
    print(f"- {scen}: " + '; '.join(f"{t} " + ' '.join(f'{x[0]:.2f}' for x in runs_) for t, runs_ in d.items()))
PY
