#!/usr/bin/env bash
# The batch script of scripts/fleet.sh (its --help says what lands where). One script, three
# roles, the first argument naming which:
#
#   fleet_task.sh batch ROOT RESULTS GPUS BINARY [bench.sh args...]
#       the benchmark job's batch script (on its first node): one srun step of every task
#   fleet_task.sh task ROOT RESULTS GPUS BINARY [bench.sh args...]
#       one task of that step: scripts/bench.sh on the task's GPU (GPUS > 0: Slurm's binding,
#       CUDA_VISIBLE_DEVICES) or on the CPU (GPUS = 0), its log renamed into logs/ with the
#       task's identity in its context, and a status file whatever happened
#   fleet_task.sh merge ROOT RESULTS JOB
#       the dependent job: what the scheduler says of JOB, then scripts/fleet_report.py
#
# ROOT is the checkout (sbatch runs a copy of this script from its spool folder, so the path
# travels as an argument); RESULTS the shared folder holding the job's folder RESULTS/<job>.
# Every file other processes read is written to a temporary name and renamed: whole or absent.
set -uo pipefail

role=${1:-}
: "${SLURM_JOB_ID:?fleet_task.sh runs as a Slurm job: scripts/fleet.sh submits it}"
[ $# -ge 4 ] || { echo "fleet_task.sh: usage: fleet_task.sh batch|task|merge ROOT RESULTS ..." >&2; exit 2; }
root=$2 results=$3
shift 3

# A file written whole: printf's output to NAME.tmp.PID, renamed onto NAME.
write_whole() {  # path, then the lines
  local path=$1 tmp="$1.tmp.$$"
  shift
  printf '%s\n' "$@" >"$tmp" && mv -f -- "$tmp" "$path"
}

case "$role" in
batch)
  gpus=$1 binary=$2
  shift 2
  job=$SLURM_JOB_ID dir="$results/$SLURM_JOB_ID"
  mkdir -p -- "$dir/logs" "$dir/tasks" || exit 1
  # What the merge needs to tell a task that never reported from one that was never asked.
  write_whole "$dir/tasks/job" "job=$job" "ntasks=${SLURM_NTASKS:-1}" "nodes=${SLURM_JOB_NODELIST:-}" \
    "gpus_per_task=$((gpus > 0 ? 1 : 0))" "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # One failed task must not stop the others (--kill-on-bad-exit=0); with GPUs each task gets
  # one of its node's, in order (--gpu-bind=per_task:1, which --gpus-per-task=1 implies).
  step=(srun --kill-on-bad-exit=0 --ntasks="${SLURM_NTASKS:-1}")
  [ "$gpus" -eq 0 ] || step+=(--gpus-per-task=1 --gpu-bind=per_task:1)
  echo "fleet_task.sh: job $job: ${SLURM_NTASKS:-1} tasks on ${SLURM_JOB_NODELIST:-?}, results in $dir"
  "${step[@]}" "$root/scripts/fleet_task.sh" task "$root" "$results" "$gpus" "$binary" "$@"
  status=$?
  echo "fleet_task.sh: job $job: the step ended with exit status $status"
  exit $status
  ;;

task)
  gpus=$1 binary=$2
  shift 2
  job=$SLURM_JOB_ID task=${SLURM_PROCID:-0} local=${SLURM_LOCALID:-0}
  node=${SLURMD_NODENAME:-$(hostname -s)}
  dir="$results/$job" work="$results/$job/tasks/$task"
  mkdir -p -- "$work" "$dir/logs" || exit 1
  started=$(date +%s)
  gpu=none serial="" uuid=""
  if [ "$gpus" -gt 0 ]; then
    # CUDA numbers devices fastest first unless told otherwise; Slurm and nvidia-smi by PCI
    # bus. The same order makes CUDA's device 0 the GPU Slurm bound and nvidia-smi names.
    export CUDA_DEVICE_ORDER=PCI_BUS_ID
    gpu=${CUDA_VISIBLE_DEVICES:-unbound}
    gpu=${gpu%%,*}
    if command -v nvidia-smi >/dev/null 2>&1 && [ "$gpu" != unbound ]; then
      ids=$(nvidia-smi --query-gpu=serial,uuid --format=csv,noheader -i "$gpu" 2>/dev/null | head -1)
      serial=$(printf '%s' "${ids%%,*}" | tr -d ' ')
      uuid=$(printf '%s' "${ids#*,}" | tr -d ' ')
      case "$serial" in ""|"[N/A]"|"N/A") serial="" ;; esac
    fi
  fi
  status_file="$dir/tasks/$task.status"
  bench_pid="" log=""
  report() {  # exit status, note
    write_whole "$status_file" "task=$task" "node=$node" "local_id=$local" "gpu=$gpu" \
      "serial=$serial" "exit=$1" "log=$log" "seconds=$(( $(date +%s) - started ))" "note=$2"
  }
  # The time limit and scancel send SIGTERM (then SIGKILL after KillWait): bench.sh is stopped
  # (it leaves no half log) and the task still says how it ended.
  on_signal() {  # signal name, exit status
    trap '' INT TERM HUP
    [ -z "$bench_pid" ] || { kill -TERM "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null; }
    report "$2" "ended by SIG$1 (the time limit, or scancel)"
    exit "$2"
  }
  trap 'on_signal TERM 143' TERM
  trap 'on_signal INT 130' INT
  trap 'on_signal HUP 129' HUP

  "$root/scripts/bench.sh" --binary "$binary" --results "$work" "$@" >"$work/bench.out" 2>&1 &
  bench_pid=$!
  wait "$bench_pid"
  status=$?
  bench_pid=""
  # bench.sh's last word on a failure (its log, report and progress lines left out).
  note=$(grep '^bench.sh: ' "$work/bench.out" | grep -v '^bench.sh: \(log\|report\|process [0-9]\)' | tail -1)
  made=("$work"/*.json)
  if [ -f "${made[0]}" ]; then
    # The log under its fleet name, the task's identity in its context (bench.sh's log is
    # whole; this copy is written to a temporary and linked into place, never over another).
    log=$(python3 - "${made[0]}" "$dir/logs" "$job" "$node" "$task" "$local" "$gpu" "$serial" "$uuid" <<'PY'
import json, os, re, sys
src, logs, job, node, task, local, gpu, serial, uuid = sys.argv[1:]
doc = json.load(open(src, encoding="utf-8"))
ctx = doc.setdefault("context", {})
ctx.update(fleet_job=job, fleet_node=node, fleet_task=task, fleet_local_id=local)
if gpu != "none":
    # With cgroup device confinement (ConstrainDevices) every task's CUDA_VISIBLE_DEVICES is 0:
    # the serial and UUID tell the GPUs apart, SLURM_STEP_GPUS is what Slurm gave the step.
    ctx.update(fleet_gpu_index=gpu, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES", ""),
               slurm_step_gpus=os.environ.get("SLURM_STEP_GPUS", ""))
    if serial:
        ctx["gpu_serial"] = serial
    if uuid:
        ctx["gpu_uuid"] = uuid
slug = lambda s: re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-") or "unknown"
where = f"gpu{slug(gpu)}_{slug(serial) if serial else 'noserial'}" if gpu != "none" else f"cpu{slug(local)}"
stem = f"{slug(job)}_{slug(node)}_{where}"
tmp = os.path.join(logs, f".{stem}.tmp.{os.getpid()}")
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1)
serial_no = 1
while True:  # a requeued job's second attempt keeps the first one's logs
    name = f"{stem}.json" if serial_no == 1 else f"{stem}-{serial_no}.json"
    try:
        os.link(tmp, os.path.join(logs, name))
        break
    except FileExistsError:
        serial_no += 1
os.unlink(tmp)
print(f"logs/{name}")
PY
) || { [ "$status" -ne 0 ] || status=1; note="the log could not be copied into logs/"; log=""; }
  fi
  report "$status" "$note"
  echo "fleet_task.sh: task $task on $node (GPU $gpu): exit $status${log:+, $log}"
  exit $status
  ;;

merge)
  job=$1
  dir="$results/$job"
  mkdir -p -- "$dir/tasks"
  # What the scheduler knows of the benchmark job, for tasks that never wrote a status: the
  # job record (kept MinJobAge after the end) and, with accounting, every step.
  {
    scontrol show job -o "$job" 2>&1 | sed 's/^/scontrol: /'
    if sacct -n -P -j "$job" -o JobID,JobName,NodeList,State,ExitCode >"$dir/tasks/.sacct.$$" 2>/dev/null; then
      sed 's/^/sacct: /' "$dir/tasks/.sacct.$$"
    fi
    rm -f -- "$dir/tasks/.sacct.$$"
  } >"$dir/tasks/scheduler.txt.tmp.$$" && mv -f -- "$dir/tasks/scheduler.txt.tmp.$$" "$dir/tasks/scheduler.txt"
  python3 "$root/scripts/fleet_report.py" --dir "$dir" --out "$dir/report"
  exit $?
  ;;

*)
  echo "fleet_task.sh: unknown role '$role' (batch, task or merge)" >&2
  exit 2
  ;;
esac
