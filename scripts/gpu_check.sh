#!/usr/bin/env bash
# The GPU check in one command, sized for a short lease on a GPU machine: scripts/gpu_check.py
# does the work (its --help, or the docstring at its top, says what each step does).
#
#   scripts/gpu_check.sh --prepare                  on a build machine: build, assemble build/gpu_bundle
#   scripts/gpu_check.sh --out DIR [--budget S]     on the GPU machine, with build/gpu_bundle carried
#   scripts/gpu_check.sh --dry-run                  anywhere: check all that needs no GPU
#   scripts/gpu_check.sh --plan | --only STEP,...   the plan; rerun some steps
#
# Any python3 (3.9 or newer) runs it; the torch steps find the interpreter that imports torch
# ($PYTHON, /opt/torch/.venv/bin/python3, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/gpu_check.py "$@"
