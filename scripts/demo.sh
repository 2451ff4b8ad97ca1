#!/usr/bin/env bash
# The demo: set up a fresh machine, start both simulators with a realistic demo
# organization, run the sync, show what landed in PDI, run it again to show the
# incremental no-op, and stop the simulators. No credentials needed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

MOBILIZE_PORT=${MOBILIZE_PORT:-8001}
PDI_PORT=${PDI_PORT:-8002}
DEMO_DIR=output/demo
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"

# The demo keeps its Meltano state, id map, dead letters and run summary apart from any real
# run: `status` of a real project never reports the demo's run.
export MELTANO_DATABASE_URI="sqlite:///$PWD/$DEMO_DIR/meltano.db"
export TARGET_PDI_ID_MAP_URL="sqlite:///$PWD/$DEMO_DIR/idmap.sqlite"
export TARGET_PDI_DEAD_LETTER_PATH="$PWD/$DEMO_DIR/dead_letters.jsonl"
export TARGET_PDI_SUMMARY_PATH="$PWD/$DEMO_DIR/summary.json"
export TAP_MOBILIZE_API_URL="http://127.0.0.1:$MOBILIZE_PORT/v1"
export TARGET_PDI_API_URL="http://127.0.0.1:$PDI_PORT"

pids=()
stop_sandboxes() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_sandboxes EXIT

echo "==> starting the Mobilize and PDI sandboxes"
python -m sandbox.mobilize --port "$MOBILIZE_PORT" --seed 7 --events 120 --timeslots-per-event 3 \
  --people 600 --attendances 1500 >"$DEMO_DIR/mobilize.log" 2>&1 &
pids+=($!)
python -m sandbox.pdi --port "$PDI_PORT" >"$DEMO_DIR/pdi.log" 2>&1 &
pids+=($!)
python -m sandbox.wait "http://127.0.0.1:$MOBILIZE_PORT" "http://127.0.0.1:$PDI_PORT"

echo "==> meltano run tap-mobilize target-pdi"
meltano run tap-mobilize target-pdi >"$DEMO_DIR/run1.log" 2>&1 || {
  tail -n 40 "$DEMO_DIR/run1.log"; exit 1; }
# The run summary (one row per PDI object), without the log prefixes. Each rejected record
# has its own "Dead letter:" line in the log and a line in dead_letters.jsonl.
summary() { grep -E "target-pdi +Summary" "$1" | sed -E 's/^.*target-pdi +//'; }
summary "$DEMO_DIR/run1.log"

echo
echo "==> what landed in PDI"
python -m sandbox.report "http://127.0.0.1:$PDI_PORT"

echo
echo "==> running again: incremental, nothing changed"
python -m sandbox.report --reset-stats "http://127.0.0.1:$PDI_PORT" >/dev/null
meltano run tap-mobilize target-pdi >"$DEMO_DIR/run2.log" 2>&1
summary "$DEMO_DIR/run2.log"
python -m sandbox.report --writes-only "http://127.0.0.1:$PDI_PORT"
echo "==> demo done; logs in $DEMO_DIR/"
