#!/usr/bin/env bash
# The fuzz at full size: FUZZ_SCALE (default 20) times the examples scripts/test.sh runs, with
# a new random seed each run (CI's are fixed). A failure prints the example and how to replay
# it (@reproduce_failure). Numbers and timings: docs/reliability.md, "Poison records".
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SCALE="${FUZZ_SCALE:-20}"
exec .venv/bin/pytest -p no:cacheprovider -q --hypothesis-show-statistics \
  target-pdi/tests/test_fuzz_records.py tap-mobilize/tests/test_fuzz_pages.py "$@"
