"""The plugins' Meltano Hub definitions (<plugin>/meltano-hub.yml) against each plugin's
`--about`: what `meltano add --from-ref` gives another project cannot drift from the plugin.

Each definition lists every setting `--about --format=json` reports (the SDK's built-ins too, as
the Hub does), in its order, with its description, the Meltano kind and secret flag
tests/test_settings_match.py holds meltano.yml to, and no default (the plugin's own applies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.test_settings_match import PLUGINS, about_settings, declared, meltano_kind

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_REPO = "github.com/example-org/mobilize-pdi"


def definition(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name / "meltano-hub.yml").read_text())
    return loaded


def about_capabilities(name: str) -> set[str]:
    result = CliRunner().invoke(PLUGINS[name][1].cli, ["--about", "--format=json"])
    assert result.exit_code == 0, result.output
    return set(json.loads(result.stdout)["capabilities"])


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_lists_every_setting_of_about_in_its_order(name: str) -> None:
    about = about_settings(PLUGINS[name][1])
    assert [s["name"] for s in definition(name)["settings"]] == list(about)


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_kinds_secrets_and_descriptions_are_those_of_about(name: str) -> None:
    about = about_settings(PLUGINS[name][1])
    for setting in definition(name)["settings"]:
        schema = about[setting["name"]]
        assert setting["kind"] == meltano_kind(schema), setting["name"]
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), setting["name"]
        assert setting.get("description") == schema.get("description"), setting["name"]
        assert setting.get("label"), setting["name"]
        assert "value" not in setting, f"{setting['name']}: the plugin's own default applies"


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_kinds_agree_with_meltano_yml(name: str) -> None:
    kinds = {s["name"]: s for s in definition(name)["settings"]}
    for setting, declaration in declared(name).items():
        assert kinds[setting]["kind"] == declaration["kind"], setting
        assert bool(kinds[setting].get("sensitive")) == bool(declaration.get("sensitive"))


@pytest.mark.parametrize("name", PLUGINS)
def test_capabilities_are_those_of_about_and_the_test_command(name: str) -> None:
    # `test`: Meltano's `meltano config <plugin> test` runs `--test`, which --about cannot list.
    assert set(definition(name)["capabilities"]) == about_capabilities(name) | {"test"}


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_installs_the_plugin_from_its_subdirectory(name: str) -> None:
    plugin = definition(name)
    kind, _ = PLUGINS[name]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (ours,) = [p for p in project["plugins"][kind] if p["name"] == name]
    assert plugin["name"] == plugin["executable"] == name
    assert plugin["namespace"] == ours["namespace"]
    assert plugin["pip_url"] == f"git+https://{PLACEHOLDER_REPO}.git#subdirectory={name}"
    assert plugin["repo"] == f"https://{PLACEHOLDER_REPO}"
    assert plugin.get("commands", {}) == ours.get("commands", {})
    required = {s for group in plugin["settings_group_validation"] for s in group}
    assert required <= {s["name"] for s in plugin["settings"]}
