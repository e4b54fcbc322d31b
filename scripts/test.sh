#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the release preset (the build
# bench.sh makes: one build serves both) and runs every test with CTest (test preset ci). GPU
# tests skip with the reason when there is no GPU.
#
#   scripts/test.sh [ctest arguments, e.g. -R softmax or -L gpu]
#
# The console shows each failed test with its output as it happens, then a summary
# (scripts/ctest_summary.py): skip reasons with their counts, failed tests by name, and last
# 'N passed, N failed, N skipped'. CTest's whole output is kept in build/release/Testing/test.log.
# Exit status: non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
actbench_ensure_deps
cmake --preset release
cmake --build --preset release

testing=build/release/Testing
log=$testing/test.log
junit=$PWD/$testing/junit.xml
labels=$testing/labels.json
mkdir -p "$testing"
rm -f "$junit"
# Left off the console (kept in the log): a line per test started, passed or skipped, and the
# list of skipped tests CTest closes with.
quiet="^ +Start +[0-9]+: |^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*( Passed|\\*\\*\\*Skipped) +[0-9.]+ sec\$"
quiet+="|^$(printf '\t')[0-9]+ - .* \\((Skipped|Disabled)\\)\$|^The following tests did not run:\$"
echo "test.sh: running CTest; the whole output goes to $log"
set +e
ctest --preset ci --output-junit "$junit" "$@" 2>&1 | tee "$log" | grep --line-buffered -Ev "$quiet"
status=${PIPESTATUS[0]}
set -e
if [ ! -s "$junit" ]; then  # e.g. ctest -N: nothing ran, nothing to sum up
  exit "$status"
fi
ctest --preset ci --show-only=json-v1 >"$labels"
summary=0
python3 scripts/ctest_summary.py "$junit" "$labels" --log "$log" || summary=$?
exit $(( status != 0 ? status : summary ))
