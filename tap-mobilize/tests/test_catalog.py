"""The catalog Meltano uses (`catalog:` in meltano.yml) is exactly what discovery says."""

from __future__ import annotations

import json
from pathlib import Path

from tap_mobilize.tap import TapMobilize

CATALOG = Path(__file__).resolve().parents[1] / "catalog.json"
REGENERATE = (
    "echo '{}' > /tmp/empty.json && .venv/bin/tap-mobilize --config /tmp/empty.json --discover "
    "| python -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2, "
    "sort_keys=True))' > tap-mobilize/catalog.json"
)


def test_the_committed_catalog_is_what_discovery_says() -> None:
    discovered = TapMobilize(config={}, validate_config=False).catalog_dict
    committed = json.loads(CATALOG.read_text())
    assert committed == json.loads(json.dumps(discovered)), f"regenerate it: {REGENERATE}"


def test_meltano_uses_the_committed_catalog() -> None:
    meltano_yml = (CATALOG.parents[1] / "meltano.yml").read_text()
    assert "catalog: tap-mobilize/catalog.json" in meltano_yml
