#!/usr/bin/env bash
# The suite across a Slurm cluster: one job of one task per GPU running scripts/bench.sh, then
# a job that waits for it and merges the logs into a fleet report (scripts/fleet_report.py).
# usage() says what is submitted and where everything lands; docs/fleet.md how to read it.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/fleet.sh [options] [-- bench.sh flags...]

Submits the benchmark suite to Slurm: one job of one task per GPU (or, on nodes without GPUs,
--ntasks-per-node CPU-only tasks a node), each running scripts/bench.sh on the GPU Slurm bound
to it; then a second job that starts when the first has ended, however it ended
(--dependency=afterany), and merges the tasks' logs into one fleet report with
scripts/fleet_report.py: per GPU, per GPU model, and the GPUs slower than their model's fleet
median beyond the noise band. Prints both job ids and the folder everything lands in:

  RESULTS/<job>/logs/<job>_<node>_gpu<index>_<serial>.json   the log of each GPU (bench.sh's,
                                    the task's identity added to its context); a CPU-only task's
                                    is <job>_<node>_cpu<local id>.json
  RESULTS/<job>/tasks/<task>.status how each task ended: node, GPU, exit status, its log
  RESULTS/<job>/tasks/<task>/       its bench.sh output (bench.out) and single-run report
  RESULTS/<job>/report/fleet.md     the fleet report (fleet.json, and plots with matplotlib)
  RESULTS/<job>/job.out, merge.out  the two jobs' own output

Every file is whole or absent. A task that fails, or never reports, is listed in the report
with its node and exit status. The checkout, the binary and RESULTS must be on a file system
every node sees, at the same path.

options:
  --nodes N            nodes to run on (default: as many as --nodelist names, else 1)
  --nodelist LIST      run on these nodes (Slurm's syntax: gpu[01-04],gpu07)
  --partition NAME     submit both jobs to this partition
  --gpus-per-node G    G tasks a node, one GPU each (--gpus-per-task=1; Slurm's binding sets
                       each task's CUDA_VISIBLE_DEVICES)
  --ntasks-per-node T  on nodes without GPUs: T CPU-only tasks a node (default 1; they share
                       the node's CPUs, so more than one measures contention)
  --quick              bench.sh's small sweep
  --filter REGEX       only the benchmarks whose name matches (-REGEX: all but those). With
                       GPUs the default is -/cpu_, the GPU benchmarks alone: a node's tasks run
                       at once and share its CPUs, so their CPU baselines would measure each
                       other (--filter . runs them all)
  --binary PATH        the actbench to run (default: the release build, built here first)
  --bundle DIR         run DIR/bench/actbench, a bundle made by scripts/gpu_check.sh --prepare
                       (its compressed libraries are unpacked here first)
  --results DIR        the shared folder for the job's folder (default results/fleet)
  --sbatch-arg ARG     pass ARG to sbatch for the benchmark job (repeat it: --sbatch-arg
                       --time=30 --sbatch-arg --account=acct)
  --merge-sbatch-arg ARG  the same for the merge job
  --no-exclusive       share the nodes with other jobs (by default the benchmark job has its
                       nodes to itself: another job's load is a slow GPU the report would flag)
  --wait               wait for the merge job and exit with the report's status
  --dry-run            print the sbatch commands; submit nothing
  -h, --help           this text
  -- FLAGS...          passed to bench.sh as they are, e.g. -- --processes 2 -- --benchmark_repetitions=10
                       (not --results, --binary or --device: the job sets them)

The benchmark job is not requeued (--no-requeue): a node that fails is reported as failed,
never silently replaced by another.

Exit status: 0 submitted (with --wait: the report found every GPU within its band); 1 sbatch
failed (nothing is left queued), or with --wait outliers, failed tasks or no report; 2 bad
usage. The report's own exit status (0, 1, 2) is the merge job's.
EOF
}

bad_usage() { echo "fleet.sh: $1 (scripts/fleet.sh --help lists the options)" >&2; exit 2; }
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
positive() { [[ "$2" =~ ^[0-9]{1,5}$ ]] && [ "$((10#$2))" -ge 1 ] || bad_usage "$1: '$2' is not a positive integer"; }

root=$(cd "$(dirname "$0")/.." && pwd)
nodes="" nodelist="" partition="" gpus="" tasks="" binary="" bundle="" results="$root/results/fleet"
exclusive=1 wait_for=0 dry_run=0 filtered=0
bench_args=() sbatch_args=() merge_args=()
while [ $# -gt 0 ]; do
  case "$1" in  # --opt=value is --opt value
    --nodes=*|--nodelist=*|--partition=*|--gpus-per-node=*|--ntasks-per-node=*|--filter=*|\
    --binary=*|--bundle=*|--results=*|--sbatch-arg=*|--merge-sbatch-arg=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
  esac
  case "$1" in
    --nodes|--nodelist|--partition|--gpus-per-node|--ntasks-per-node|--filter|--binary|--bundle|\
    --results|--sbatch-arg|--merge-sbatch-arg)
      [ $# -ge 2 ] && [ -n "$2" ] || bad_usage "$1 needs a value"
      case "$1" in
        --nodes) positive "$1" "$2"; nodes=$((10#$2)) ;;
        --nodelist) nodelist=$2 ;;
        --partition) partition=$2 ;;
        --gpus-per-node) positive "$1" "$2"; gpus=$((10#$2)) ;;
        --ntasks-per-node) positive "$1" "$2"; tasks=$((10#$2)) ;;
        --filter) bench_args+=(--filter "$2"); filtered=1 ;;
        --binary) binary=$(absolute "$2") ;;
        --bundle) bundle=$(absolute "$2") ;;
        --results) results=$(absolute "$2") ;;
        --sbatch-arg) sbatch_args+=("$2") ;;
        --merge-sbatch-arg) merge_args+=("$2") ;;
      esac
      shift ;;
    --quick) bench_args+=(--quick) ;;
    --no-exclusive) exclusive=0 ;;
    --wait) wait_for=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) bad_usage "unknown option '$1'" ;;
  esac
  shift
done
# bench.sh's own flags, up to its `--` (what follows that is actbench's).
for arg in "$@"; do
  [ "$arg" != -- ] || break
  case "$arg" in
    --results|--results=*|--binary|--binary=*|--device|--device=*)
      bad_usage "'$arg' after --: the job sets bench.sh's ${arg%%=*} itself (fleet.sh's --results and --binary choose them)" ;;
  esac
done
[ -z "$gpus" ] || [ "$filtered" -eq 1 ] || bench_args+=(--filter -/cpu_)
bench_args+=("$@")
[ -z "$gpus" ] || [ -z "$tasks" ] ||
  bad_usage "--gpus-per-node and --ntasks-per-node: with GPUs there is one task per GPU"
[ -z "$binary" ] || [ -z "$bundle" ] || bad_usage "--binary and --bundle: give one"
for arg in "${sbatch_args[@]}" "${merge_args[@]}"; do
  case "$arg" in
    --output*|--error*|-o|-e|--dependency*|-d|--parsable|--hold|-H)
      bad_usage "--sbatch-arg '$arg': fleet.sh sets it itself" ;;
  esac
done
if [ -n "$bundle" ]; then
  [ -x "$bundle/bench/actbench" ] || bad_usage "--bundle: '$bundle' holds no bench/actbench"
  binary=$bundle/bench/actbench
elif [ -n "$binary" ]; then
  [ -f "$binary" ] && [ -x "$binary" ] || bad_usage "--binary: '$binary' is not an executable"
fi
if [ -z "$nodes" ]; then
  nodes=1
  if [ -n "$nodelist" ]; then
    command -v scontrol >/dev/null 2>&1 && nodes=$(scontrol show hostnames "$nodelist" | grep -c .) &&
      [ "$nodes" -ge 1 ] || bad_usage "--nodelist '$nodelist': cannot count its nodes here; give --nodes too"
  fi
fi
per_node=${gpus:-${tasks:-1}}

# The benchmark job is submitted held and released once the merge job waits for it, so that
# its output folder (RESULTS/<job>, named by the id sbatch returns) exists before it starts.
bench_job=(sbatch --parsable --hold --job-name=actbench-fleet --no-requeue
           --nodes="$nodes" --ntasks=$((nodes * per_node)) --ntasks-per-node="$per_node")
[ -z "$gpus" ] || bench_job+=(--gpus-per-task=1)
[ "$exclusive" -eq 0 ] || bench_job+=(--exclusive)
[ -z "$partition" ] || bench_job+=(--partition="$partition")
[ -z "$nodelist" ] || bench_job+=(--nodelist="$nodelist")
bench_job+=(--output="$results/%j/job.out" "${sbatch_args[@]}")
merge_job=(sbatch --parsable --job-name=actbench-fleet-merge --nodes=1 --ntasks=1)
[ -z "$partition" ] || merge_job+=(--partition="$partition")
merge_job+=("${merge_args[@]}")
script="$root/scripts/fleet_task.sh"
if [ -n "$gpus" ]; then shape="$nodes node(s) x $per_node GPU(s)"; else shape="$nodes node(s) x $per_node CPU-only task(s)"; fi

if [ "$dry_run" -eq 1 ]; then
  shown=${binary:-$root/build/release/bench/actbench}
  [ -n "$binary" ] || echo "fleet.sh: (the release build would be built here first: $shown)"
  echo "fleet.sh: benchmark job: $shape"
  printf '%q ' "${bench_job[@]}" "$script" batch "$root" "$results" "${gpus:-0}" "$shown" "${bench_args[@]}"
  echo
  echo "fleet.sh: merge job, after it:"
  printf '%q ' "${merge_job[@]}" --dependency=afterany:JOB --output="$results/JOB/merge.out" \
    "$script" merge "$root" "$results" JOB
  echo
  exit 0
fi

command -v sbatch >/dev/null 2>&1 ||
  { echo "fleet.sh: sbatch not found: run this on a Slurm submit host (--dry-run shows the commands)" >&2; exit 1; }
if [ -z "$binary" ]; then
  (cd "$root" && source scripts/deps.sh && actbench_ensure_deps && cmake --preset release >/dev/null &&
     cmake --build --preset release) || { echo "fleet.sh: the release build failed; nothing was submitted" >&2; exit 1; }
  binary=$root/build/release/bench/actbench
elif [ -n "$bundle" ]; then
  python3 - "$root/scripts" "$bundle" <<'PY' || { echo "fleet.sh: the bundle's libraries could not be unpacked; nothing was submitted" >&2; exit 1; }
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import gpu_check
gpu_check.unpack(Path(sys.argv[2]))
PY
fi
mkdir -p -- "$results"

# A held job left behind by a failure or an interruption is cancelled: nothing half-submitted.
job=""
cancel_held() { [ -z "$job" ] || scancel "$job" 2>/dev/null || true; }
trap 'cancel_held' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

out=$("${bench_job[@]}" "$script" batch "$root" "$results" "${gpus:-0}" "$binary" "${bench_args[@]}") ||
  { job=""; echo "fleet.sh: sbatch refused the benchmark job (above); nothing was submitted" >&2; exit 1; }
job=${out%%;*}
mkdir -p -- "$results/$job/logs" "$results/$job/tasks"
out=$("${merge_job[@]}" --dependency=afterany:"$job" --output="$results/$job/merge.out" \
        "$script" merge "$root" "$results" "$job") ||
  { echo "fleet.sh: sbatch refused the merge job (above); job $job was cancelled" >&2; exit 1; }
merge=${out%%;*}
scontrol release "$job" || { echo "fleet.sh: job $job could not be released; cancelled (and $merge with it)" >&2
                             scancel "$merge" 2>/dev/null || true; exit 1; }
job_id=$job job=""
trap - EXIT
echo "fleet.sh: benchmark job $job_id: $shape, running $binary"
echo "fleet.sh: merge job $merge, once $job_id has ended"
echo "fleet.sh: logs: $results/$job_id/logs/  task status: $results/$job_id/tasks/"
echo "fleet.sh: report: $results/$job_id/report/fleet.md  (squeue -j $job_id,$merge shows the jobs)"
[ "$wait_for" -eq 1 ] || exit 0

# squeue forgets a job once it has ended; a scheduler that does not answer for a minute is an
# error rather than a wait without end.
misses=0
while :; do
  if state=$(squeue -h -j "$merge" -o %T 2>/dev/null); then
    misses=0
    [ -n "$state" ] || break
  else
    misses=$((misses + 1))
    [ "$misses" -lt 60 ] || { echo "fleet.sh: squeue has not answered for a minute; the jobs may still run" >&2; exit 1; }
  fi
  sleep 1
done
summary="$results/$job_id/report/fleet.json"
if [ ! -f "$summary" ]; then
  echo "fleet.sh: the merge job wrote no report; its output: $results/$job_id/merge.out" >&2
  exit 1
fi
status=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["exit"])' "$summary") || status=1
echo "fleet.sh: the fleet report's verdict: exit $status ($results/$job_id/report/fleet.md)"
exit $((status == 0 ? 0 : 1))
