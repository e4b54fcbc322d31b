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

actbench_ensure_deps() {
  actbench_need_cuda
  local required=(cmake ninja-build g++ libbenchmark-dev libgtest-dev)
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
}
