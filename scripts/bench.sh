#!/usr/bin/env bash
# The README's main command: build (Release, when needed), run the actbench sweep, write
# results/<date>_<machine>_<sha>.json (whole or not at all) and its report under
# results/reports/. Without a GPU the CPU benchmarks run and the log says why the GPU ones
# did not.
#
#   scripts/bench.sh [--quick] [--filter REGEX] [--device N] [--warm] [-- actbench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--warm) args+=("$1") ;;
    --filter) [ $# -ge 2 ] || { echo "bench.sh: --filter needs a regex" >&2; exit 2; }
              args+=("--benchmark_filter=$2"); shift ;;
    --filter=*) args+=("--benchmark_filter=${1#--filter=}") ;;
    --device) [ $# -ge 2 ] || { echo "bench.sh: --device needs an index" >&2; exit 2; }
              args+=("--device=$2"); shift ;;
    --device=*) args+=("$1") ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args+=("$@"); break ;;
    *) echo "bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

source scripts/deps.sh
actbench_ensure_deps
cmake --preset release >/dev/null
cmake --build --preset release

mkdir -p results/reports
tmp="results/.run-$$.json"
trap 'rm -f "$tmp"' EXIT
status=0
build/release/bench/actbench --benchmark_out="$tmp" --benchmark_out_format=json "${args[@]}" || status=$?
if [ ! -s "$tmp" ]; then
  echo "bench.sh: actbench wrote no log (exit $status)" >&2
  exit $(( status == 0 ? 1 : status ))
fi

# Name the log after the machine the context names (the GPU, or cpu-<host>) and the commit.
name=$(python3 - "$tmp" <<'PY'
import datetime, json, sys
sys.path.insert(0, "scripts")
import gbjson
ctx = json.load(open(sys.argv[1]))["context"]
machine = gbjson.slug(ctx.get("machine", "unknown"))
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%MZ")
print(f"{stamp}_{machine}_{ctx.get('git_sha', 'unknown')}")
PY
)
log="results/$name.json"
mv "$tmp" "$log"
echo "bench.sh: log: $log"
python3 scripts/report.py "$log" --out results/reports
echo "bench.sh: report: results/reports/$name.md"
exit $status
