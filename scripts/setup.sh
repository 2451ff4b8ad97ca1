#!/usr/bin/env bash
# Set up a fresh machine for mobilize-pdi: a pinned dev virtualenv at .venv (tools, the
# two plugins and their shared pacing package installed editable) and the Meltano plugin
# virtualenvs under .meltano/.
# Safe to re-run: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/uv --version 2>/dev/null | grep -q "$UV_VERSION"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
echo "==> installing pinned dependencies (requirements-dev.lock)"
.venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements-dev.lock \
  -e ./pacing -e ./tap-mobilize -e ./target-pdi

echo "==> meltano install"
# uv is Meltano's default virtualenv backend; point it at the pinned copy in .venv.
# --clean rebuilds the plugin venvs, so a dependency added to a plugin is never missed.
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p .meltano
if ! meltano install --clean >.meltano/setup-install.log 2>&1; then
  tail -n 40 .meltano/setup-install.log
  echo "meltano install failed; full log: .meltano/setup-install.log" >&2
  exit 1
fi
echo "==> compiling bytecode"
# Where PYTHONDONTWRITEBYTECODE is set (these machines, many CI images) nothing caches bytecode
# on import, so every Meltano and plugin start compiled ~2,000 modules from source: `meltano
# --version` took 3.5 s instead of 1.6, target-pdi --about 3.8 s instead of 0.7. Each venv
# compiles with its own interpreter; files already compiled are skipped.
for python in .venv/bin/python .meltano/*/*/venv/bin/python; do
  "$python" -m compileall -q -j 0 "${python%/bin/python}/lib" >/dev/null || true
done
.venv/bin/python -m compileall -q -j 0 pacing/pacing tap-mobilize/tap_mobilize \
  target-pdi/target_pdi sandbox >/dev/null || true
echo "==> YAML language server (tests/editor/package-lock.json)"
# tests/editor checks mappings/ in the language server analysts' editors run (an npm package).
if ! command -v npm >/dev/null; then
  echo "==> installing Node.js and npm (system packages)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -q nodejs npm >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q nodejs npm >/dev/null; }
fi
editor_lock=$(sha256sum tests/editor/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/editor/node_modules/.installed-lock 2>/dev/null)" != "$editor_lock" ]; then
  npm ci --prefix tests/editor --no-audit --no-fund --silent
  echo "$editor_lock" >tests/editor/node_modules/.installed-lock
fi
echo "==> orchestrator venv (.venv-dagster, orchestrate/requirements.lock)"
# Dagster has a virtualenv of its own, so that its pins never fight Meltano's. It is rebuilt
# only when the lock file, orchestrate/pyproject.toml or target-pdi/pyproject.toml changed
# since the last install (the stamp holds their hash).
lock_hash=$(cat orchestrate/requirements.lock orchestrate/pyproject.toml target-pdi/pyproject.toml |
  sha256sum | cut -d' ' -f1)
if [ "$(cat .venv-dagster/.installed-lock 2>/dev/null)" != "$lock_hash" ]; then
  [ -x .venv-dagster/bin/python ] || .venv/bin/uv venv --quiet --python "$PYTHON" .venv-dagster
  # sync: exactly the lock's packages (a package dropped from it goes), then the code location.
  .venv/bin/uv pip sync --quiet --python .venv-dagster/bin/python orchestrate/requirements.lock
  # target-pdi without its dependencies: the checks judge a run with its own rules,
  # target_pdi.rules.verdict (standard library only), so that Dagster and `status` agree.
  .venv/bin/uv pip install --quiet --python .venv-dagster/bin/python --no-deps \
    -e ./orchestrate -e ./target-pdi
  # Dagster imports ~3,000 modules at every start; see "compiling bytecode" above.
  .venv-dagster/bin/python -m compileall -q -j 0 .venv-dagster/lib >/dev/null || true
  echo "$lock_hash" >.venv-dagster/.installed-lock
fi
echo "==> setup done"
