#!/usr/bin/env bash
# The README's test command: installs what is missing, builds (preset ci: Release, sm_90),
# and runs every test with CTest. GPU tests skip with the reason when there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
actbench_ensure_deps
cmake --preset ci
cmake --build --preset ci
ctest --preset ci "$@"
