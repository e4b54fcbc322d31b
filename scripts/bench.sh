#!/usr/bin/env bash
# The README's main command: builds actbench (the release preset) when needed, runs its sweep,
# and writes the log and its report under results/ (usage() says how they are named). Nothing
# half-written is left on any interruption: actbench removes its own unfinished log, and this
# script stops its child and removes its temporaries on SIGINT, SIGTERM, SIGHUP and SIGPIPE.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [options] [-- actbench flags...]

Builds actbench (the release preset, when needed), runs the benchmark sweep, verified against
the CPU reference, and prints one line per benchmark (and process) as it completes. Writes
  results/<date>_<machine>_<sha>.json      the log (Google Benchmark JSON)
  results/reports/<same name>.md           its report (and plots, with matplotlib)
<date> is the UTC time the run started, to the second (2026-11-27T140215Z); a name already
taken gets a serial (2026-11-27T140215Z-2), so no log is ever overwritten. <machine> is the
GPU's name, or cpu-<host> without a GPU (then only the CPU benchmarks run, and the log says
why). An interrupted run leaves no log, no report and no temporary file.

options:
  --quick            a small sweep (a fast check)
  --processes N      spread the repetitions over N actbench processes run one after another
                     (default 4 with --quick, else 1; see below)
  --filter REGEX     only the benchmarks whose name matches, e.g. '^softmax/'
  --device N         the GPU to use (default 0)
  --warm             do not flush the L2 before each timed GPU call
  --binary PATH      run this actbench instead of building one (e.g. a build carried over)
  --results DIR      write the log and the report under DIR instead of results/
  -h, --help         this text
  -- FLAGS...        passed to actbench as they are (actbench --help lists them), e.g.
                     -- --benchmark_repetitions=5

Repetitions: actbench's default (16 with --quick, else 5) or -- --benchmark_repetitions=R,
spread over the processes: each runs every benchmark ceil(R/N) times, interleaved in random
order, and the log holds them all (scripts/merge_logs.py says why several processes: what a
process fixes at its start, code and data layout, a library's dispatch, varies between runs
and shows in the log's noise only when the log spans processes).

Exit status: 0 every benchmark verified; 1 a mismatch or an error in some benchmark (the log
and report are still written), or no log or report could be written; 2 bad usage;
128 + N when ended by signal N (130 SIGINT, 143 SIGTERM).
EOF
}

bad_usage() { echo "bench.sh: $1 (scripts/bench.sh --help lists the options)" >&2; exit 2; }

# Paths given on the command line are relative to where the script was started.
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

args=() binary="" results=results processes="" quick=0 repetitions=""
while [ $# -gt 0 ]; do
  case "$1" in  # --opt=value is --opt value
    --filter=*|--device=*|--binary=*|--results=*|--processes=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
  esac
  case "$1" in
    --quick|--warm) args+=("$1"); [ "$1" != --quick ] || quick=1 ;;
    --filter|--device|--binary|--results|--processes)
      [ $# -ge 2 ] && [ -n "$2" ] || bad_usage "$1 needs a value"
      case "$1" in
        --filter) args+=("--benchmark_filter=$2") ;;
        --device) args+=("--device=$2") ;;
        --binary) binary=$(absolute "$2") ;;
        --results) results=$(absolute "$2") ;;
        --processes) processes=$2 ;;
      esac
      shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args+=("$@"); break ;;
    *) bad_usage "unknown option '$1'" ;;
  esac
  shift
done
passed=()  # args less the repetitions, which bench.sh shares out among the processes
for arg in "${args[@]}"; do
  case "$arg" in
    --benchmark_out=*|--benchmark_out_format=*)
      bad_usage "'$arg': bench.sh names the log itself; --results DIR picks its folder" ;;
    --benchmark_repetitions=*) repetitions=${arg#*=} ;;
    *) passed+=("$arg") ;;
  esac
done
positive() { [[ "$2" =~ ^[0-9]{1,6}$ ]] && [ "$((10#$2))" -ge 1 ] || bad_usage "$1: '$2' is not a positive integer"; }
[ -z "$repetitions" ] || positive --benchmark_repetitions "$repetitions"
[ -z "$processes" ] || positive --processes "$processes"
processes=$((10#${processes:-$((quick ? 4 : 1))}))
repetitions=$((10#${repetitions:-$((quick ? 16 : 5))}))
per_process=$(( (repetitions + processes - 1) / processes ))
if [ -n "$binary" ] && [ ! -x "$binary" ]; then bad_usage "--binary: '$binary' is not an executable"; fi

cd "$(dirname "$0")/.."

# Temporaries, removed on every way out; a signal also stops the running child first (it is run
# in the background so that `wait` returns at once when a signal comes). Background jobs of a
# script ignore SIGINT, so the child is stopped with SIGTERM.
tmp="" parts="" report_tmp="" log=""
cleanup() {
  [ -z "$tmp" ] || rm -f -- "$tmp"
  [ -z "$parts" ] || rm -rf -- "$parts"
  [ -z "$report_tmp" ] || rm -rf -- "$report_tmp"
}
on_signal() {  # signal name, exit status
  trap '' INT TERM HUP PIPE
  local pids
  pids=$(jobs -p)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
  fi
  cleanup
  echo "bench.sh: interrupted (SIG$1)${log:+; the log $log is whole, its report was not written}" >&2
  trap - EXIT
  exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP
trap 'on_signal PIPE 141' PIPE
run() { "$@" & wait $!; }

if [ -z "$binary" ]; then
  source scripts/deps.sh
  actbench_ensure_deps
  run cmake --preset release >/dev/null
  run cmake --build --preset release
  binary=build/release/bench/actbench
fi

mkdir -p "$results/reports"
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)  # the start of the run
tmp="$results/.run-$$.json"
parts="$results/.run-$$.parts"
mkdir -p -- "$parts"
status=0 logs=()
for ((k = 1; k <= processes; ++k)); do
  [ "$processes" -eq 1 ] || echo "bench.sh: process $k of $processes ($per_process repetitions of each benchmark)"
  part="$parts/$k.json"
  run "$binary" --benchmark_out="$part" --benchmark_out_format=json "${passed[@]}" \
    --benchmark_repetitions="$per_process" || status=$?
  if [ ! -s "$part" ]; then
    echo "bench.sh: actbench${logs[0]:+ (process $k of $processes)} wrote no log (exit $status); nothing was kept" >&2
    exit $(( status == 0 ? 1 : status ))
  fi
  logs+=("$part")
  # A mismatch or an error is the same in every process: the parts so far are the run.
  [ "$status" -eq 0 ] || break
done
if [ "${#logs[@]}" -eq 1 ]; then
  mv -- "${logs[0]}" "$tmp"
else
  run python3 scripts/merge_logs.py "$tmp" "${logs[@]}" || { echo "bench.sh: the processes' logs could not be merged; nothing was kept" >&2; exit 1; }
fi
rm -rf -- "$parts"
parts=""

# The log is named by the start, the machine the context names (the GPU, or cpu-<host>) and
# the commit. A hard link claims the name atomically and fails if it is taken: then the next
# serial is tried.
rest=$(python3 - "$tmp" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
import gbjson
ctx = json.load(open(sys.argv[1]))["context"]
print(f"{gbjson.slug(ctx.get('machine', 'unknown'))}_{ctx.get('git_sha', 'unknown')}")
PY
)
name="${stamp}_$rest" serial=1
until ln -- "$tmp" "$results/$name.json" 2>/dev/null; do
  if [ ! -e "$results/$name.json" ]; then
    echo "bench.sh: cannot write $results/$name.json; the run's log is kept as $tmp" >&2
    tmp=""
    exit 1
  fi
  serial=$((serial + 1))
  name="${stamp}-${serial}_$rest"
done
log="$results/$name.json"
rm -f -- "$tmp"
tmp=""
echo "bench.sh: log: $log"

# The report is written into a folder of its own and moved in file by file, plots first, so
# that results/reports/ never holds part of a file or a page whose plots are missing.
report_tmp=$(mktemp -d "$results/reports/.report-$$.XXXXXX")
if ! run python3 scripts/report.py "$log" --out "$report_tmp" >/dev/null; then
  echo "bench.sh: no report was written; the log $log is whole" >&2
  exit 1
fi
for file in "$report_tmp"/*; do
  [ "$file" = "$report_tmp/$name.md" ] || mv -f -- "$file" "$results/reports/"
done
mv -f -- "$report_tmp/$name.md" "$results/reports/"
rmdir -- "$report_tmp"
report_tmp=""
echo "bench.sh: report: $results/reports/$name.md"
exit $status
