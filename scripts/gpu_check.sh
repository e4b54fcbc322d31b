#!/usr/bin/env bash
# The GPU validation in one script, for an H100/H200 machine that may lack the build tools:
#   1. the GPU tests (every registry variant, elementwise and softmax specifics),
#   2. the same under compute-sanitizer: memcheck, racecheck, initcheck, synccheck,
#   3. the benchmark sweep with repetitions (JSON naming the card),
#   4. scripts/torch_compare.py (PyTorch as a peer, when PyTorch is there),
#   5. the report of both logs.
# Everything lands in OUT_DIR (default results/gpu_check), with a log per step.
#
#   scripts/gpu_check.sh [--build DIR] [--out DIR] [--quick]
#
# Prepare it on a build machine: `scripts/gpu_check.sh --prepare` builds the release preset
# and assembles build/gpu_bundle (the binaries it runs, the core library and the shared
# libraries they need: Google Benchmark, oneDNN, OpenMP), which is all a GPU machine needs to carry
# beside the source tree. cuDNN is taken from PyTorch's wheel (nvidia.cudnn) there.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build/gpu_bundle
out=results/gpu_check
quick=0
prepare=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --quick) quick=1 ;;
    --prepare) prepare=1 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

if [ $prepare = 1 ]; then
  set -e
  source scripts/deps.sh
  actbench_ensure_deps
  cmake --preset release >/dev/null
  cmake --build --preset release
  # The same relative layout as the build tree: run paths are $ORIGIN-relative.
  rm -rf "$build"
  mkdir -p "$build/bench" "$build/tests" "$build/lib"
  cp build/release/libactbench_core.so "$build/"
  cp build/release/bench/actbench build/release/bench/libactbench_capi.so "$build/bench/"
  cp build/release/tests/test_variants build/release/tests/test_elementwise_gpu \
     build/release/tests/test_softmax_gpu "$build/tests/"
  for lib in $(ldd build/release/bench/actbench build/release/libactbench_core.so |
               awk '/libbenchmark|libdnnl|libOpenCL|libgomp/ {print $3}' | sort -u); do
    cp -L "$lib" "$build/lib/"
  done
  echo "gpu_check.sh: carry $build ($(du -sh "$build" | cut -f1)) and run scripts/gpu_check.sh there"
  exit 0
fi

[ -x "$build/bench/actbench" ] || { echo "gpu_check.sh: no $build/bench/actbench; run --prepare on a build machine first" >&2; exit 2; }
mkdir -p "$out"
cudnn=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) + '/lib')" 2>/dev/null || true)
export LD_LIBRARY_PATH="$PWD/$build/lib:${cudnn}:${LD_LIBRARY_PATH:-}"
if ! nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv |
     tee "$out/gpu.txt"; then
  echo "gpu_check.sh: no GPU here (nvidia-smi failed): nothing to check" >&2
  exit 2
fi

failures=()
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, remembers a failure
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  tail -n 3 "$out/$name.log"
  echo "== $name: exit $rc after $((SECONDS - start)) s"
  [ $rc = 0 ] || failures+=("$name (exit $rc)")
}

tests=("$build"/tests/test_variants "$build"/tests/test_elementwise_gpu "$build"/tests/test_softmax_gpu)
for t in "${tests[@]}"; do step "$(basename "$t")" "$t" --gtest_brief=1; done

# Sanitizers on the shapes below 2^20 elements (the tools slow kernels down 10-100x), each
# bounded so that the whole check stays well inside 10 minutes (exit 124: it ran out).
small='-*1048576*:*16777219*:*50257*'
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck initcheck synccheck; do
    step "sanitizer_$tool" timeout 150 compute-sanitizer --tool "$tool" --error-exitcode 3 \
      "$build/tests/test_variants" --gtest_brief=1 --gtest_filter="*$small"
  done
else
  failures+=("compute-sanitizer not found")
fi

if [ $quick = 1 ]; then sweep=(--quick); else sweep=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=false); fi
step actbench "$build/bench/actbench" "${sweep[@]}" --benchmark_out="$out/actbench.json" --benchmark_out_format=json
capi=$(ls "$build"/bench/libactbench_capi.so 2>/dev/null || true)
step torch_compare python3 scripts/torch_compare.py ${capi:+--lib "$capi"} --out "$out/torch.json"
logs=("$out/actbench.json")
[ -s "$out/torch.json" ] && logs+=("$out/torch.json")
step report python3 scripts/report.py "${logs[@]}" --out "$out"

if [ ${#failures[@]} -gt 0 ]; then
  printf 'gpu_check.sh: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "gpu_check.sh: all steps passed; logs and report in $out"
