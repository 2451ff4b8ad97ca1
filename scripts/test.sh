#!/usr/bin/env bash
# The test command: set up a fresh machine, then lint, type-check and run every test
# (unit tests, the SDK's standard tap tests, the simulators' tests and the end-to-end
# tests that run a real `meltano run` over HTTP against the sandboxes on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# The shared-database tests start PostgreSQL servers of their own (tests/postgres_server.py)
# from the system's PostgreSQL 15; install it if it is missing.
if ! command -v pg_config >/dev/null && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "==> installing PostgreSQL 15 (system package)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -q postgresql-15 >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q postgresql-15 >/dev/null; }
fi
# The orchestrator's UI test takes screenshots with headless Chromium (Debian's package).
if ! command -v chromium >/dev/null; then
  echo "==> installing Chromium (system package)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -q chromium >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
fi

echo "==> ruff"
ruff check .
ruff format --check .
echo "==> mypy"
mypy sandbox pacing/pacing tap-mobilize/tap_mobilize target-pdi/target_pdi
# The orchestrator with its own venv's mypy, which sees Dagster's type hints.
.venv-dagster/bin/mypy orchestrate/mobilize_pdi_dagster
echo "==> docs (mkdocs build --strict: a broken link or a page missing from the nav fails)"
# Built into a temporary folder, so the run leaves nothing behind; the banner about MkDocs 2 off.
site_dir=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$site_dir"  # not --quiet: it hides the warnings strict counts
rm -rf "$site_dir"
echo "==> pytest"
# The orchestrator's unit tests need Dagster: its own venv, its own pytest settings.
.venv-dagster/bin/pytest -c orchestrate/pyproject.toml orchestrate/tests
# Two at a time: the end-to-end and reliability tests spend most of their time waiting on
# HTTP and on Meltano starting up (20 minutes one at a time on 2 cores, 14 two at a time).
# --durations: the slowest tests in every run's log, to keep the whole under its 25 minutes.
pytest -n 2 --durations=25 pacing/tests tap-mobilize/tests target-pdi/tests tests "$@"
