# Sourced by test.sh and bench.sh: makes sure the build's prerequisites are present.
# Installs what is missing from Debian's packages and PyPI when it can (root with apt-get),
# otherwise stops with the exact command to run.

actbench_need_cuda() {
  if ! command -v nvcc >/dev/null 2>&1; then
    if [ -x /usr/local/cuda/bin/nvcc ]; then
      export PATH="/usr/local/cuda/bin:$PATH"
    else
      echo "actbench: nvcc not found. Install the CUDA Toolkit (13.0 or newer, from NVIDIA's" >&2
      echo "  repository: apt-get install cuda-toolkit-13-0) or put its bin/ folder on PATH." >&2
      exit 1
    fi
  fi
}

# cuobjdump and nvdisasm read the SASS for the sass.* tests (tests/sass_check.py): the toolkit's
# when it ships them, else PyPI's wheels, installed with pip --target into the folder that
# tests/CMakeLists.txt looks in (same rule there). --target needs no venv, and pip does not apply
# Debian's PEP 668 refusal to it. Both wheels go in one command: pip --target skips a top-level
# folder (nvidia/) that already exists unless it upgrades.
ACTBENCH_CUDA_TOOLS="${ACTBENCH_CUDA_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/actbench/cuda-tools}"
actbench_ensure_sass_tools() {
  local toolkit bin
  toolkit="$(dirname "$(command -v nvcc)")"
  bin="$ACTBENCH_CUDA_TOOLS/nvidia/cu13/bin"
  if { [ -x "$toolkit/cuobjdump" ] && [ -x "$toolkit/nvdisasm" ]; } ||
     { [ -x "$bin/cuobjdump" ] && [ -x "$bin/nvdisasm" ]; }; then
    return 0
  fi
  local cmd=(python3 -m pip install --quiet --disable-pip-version-check --no-deps --upgrade
             --target "$ACTBENCH_CUDA_TOOLS" nvidia-cuda-cuobjdump==13.5.37 nvidia-cuda-nvdisasm==13.5.37)
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "actbench: installing python3-pip (to fetch cuobjdump and nvdisasm)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >&2 || {
          echo "actbench: run: apt-get install -y python3-pip" >&2; exit 1; }
    else
      echo "actbench: pip is missing; run: sudo apt-get install -y python3-pip && $(printf '%q ' "${cmd[@]}")" >&2
      exit 1
    fi
  fi
  echo "actbench: installing cuobjdump and nvdisasm (SASS checks) into $ACTBENCH_CUDA_TOOLS" >&2
  PIP_ROOT_USER_ACTION=ignore "${cmd[@]}" >&2 || {
    echo "actbench: run: $(printf '%q ' "${cmd[@]}")" >&2; exit 1; }
}

actbench_ensure_deps() {
  actbench_need_cuda
  # patchelf: scripts/gpu_check.sh gives the bundle's binaries and carried libraries run paths
  # inside the bundle (the GPU check's dry run, in CTest, does too). slurm-wlm and munge: the
  # fleet test (tests/scripts/test_fleet_sh.py) submits scripts/fleet.sh's jobs to a Slurm
  # cluster it starts for itself, with its own daemons, ports and MUNGE key: none of the
  # system services these packages bring is used.
  local required=(cmake ninja-build g++ libbenchmark-dev libgtest-dev patchelf slurm-wlm munge)
  local optional=(libdnnl-dev)
  local missing=() pkg
  for pkg in "${required[@]}" "${optional[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "actbench: installing ${missing[*]}" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 || {
          echo "actbench: apt-get install ${missing[*]} failed" >&2; exit 1; }
    else
      echo "actbench: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! python3 -c "import matplotlib" >/dev/null 2>&1; then
    # Debian's own python3 refuses pip installs (PEP 668): use its package there.
    if [ "$(command -v python3)" = /usr/bin/python3 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "actbench: installing python3-matplotlib (reports' plots)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >&2 || {
        echo "actbench: run: apt-get install -y python3-matplotlib" >&2; exit 1; }
    else
      echo "actbench: installing matplotlib (reports' plots)" >&2
      python3 -m pip install -q matplotlib >&2 || {
        echo "actbench: run: python3 -m pip install matplotlib" >&2; exit 1; }
    fi
  fi
  actbench_ensure_sass_tools
}
