"""meltano.yml and the READMEs against each plugin's `--about`: they cannot drift.

For tap-mobilize and target-pdi, the settings meltano.yml declares are the plugin's own settings
(those `--about` reports, less the SDK's built-ins), each with the kind and secret flag `--about`
gives, and none restates a default (the plugin's own applies; a project's choice goes in the
plugin's `config:`). target-pdi's defaults are stated once, in
target_pdi/configuration/settings.py, for both
its schema and its `Settings`; its README lists exactly its settings and no default.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from singer_sdk.plugin_base import PluginBase
from tap_mobilize.tap import TapMobilize
from target_pdi.configuration.settings import Settings
from target_pdi.target import TargetPDI

ROOT = Path(__file__).resolve().parent.parent
PLUGINS: dict[str, tuple[str, type[PluginBase]]] = {
    "tap-mobilize": ("extractors", TapMobilize),
    "target-pdi": ("loaders", TargetPDI),
}
# The Meltano kind of each JSON schema type. "number" is declared `kind: integer` because
# Meltano 4.4 cannot serialise `kind: decimal` set from the environment (meltano.yml says so
# on each such line); a fractional value then goes in meltano.yml's config, not the environment.
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "integer",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def about_settings(plugin: type[PluginBase]) -> dict[str, dict[str, Any]]:
    """What `<plugin> --about --format=json` reports under settings.properties."""
    result = CliRunner().invoke(plugin.cli, ["--about", "--format=json"])
    assert result.exit_code == 0, result.output
    properties: dict[str, dict[str, Any]] = json.loads(result.stdout)["settings"]["properties"]
    return properties


def own_settings(plugin: type[PluginBase]) -> list[str]:
    """The plugin's own settings: those it declares, less what singer-sdk adds for its
    capabilities (stream_maps, ...) unless the plugin declares that one itself (batch_size_rows)."""
    about = about_settings(plugin)
    bare = about_settings(type("Bare", (plugin,), {"config_jsonschema": {"properties": {}}}))
    return [name for name, schema in about.items() if bare.get(name) != schema]


def declared(name: str) -> dict[str, dict[str, Any]]:
    kind, _ = PLUGINS[name]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (plugin,) = [p for p in project["plugins"][kind] if p["name"] == name]
    return {s["name"]: s for s in plugin["settings"]}


def meltano_kind(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return "date_iso8601"
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    # A first non-null type: a calendar given by name or id (string or integer) is a string.
    return KINDS[next(t for t in types if t != "null")]


@pytest.mark.parametrize("name", PLUGINS)
def test_meltano_yml_declares_exactly_the_plugins_own_settings(name: str) -> None:
    about = about_settings(PLUGINS[name][1])
    own = set(own_settings(PLUGINS[name][1]))
    names = set(declared(name))
    assert sorted(names - set(about)) == [], "declared in meltano.yml, unknown to --about"
    assert sorted(own - names) == [], "in --about, not declared in meltano.yml"


@pytest.mark.parametrize("name", PLUGINS)
def test_kinds_and_secrets_are_those_of_about(name: str) -> None:
    about = about_settings(PLUGINS[name][1])
    for setting, definition in declared(name).items():
        schema = about[setting]
        assert definition.get("kind") == meltano_kind(schema), setting
        assert bool(definition.get("sensitive")) == bool(schema.get("secret")), setting


@pytest.mark.parametrize("name", PLUGINS)
def test_meltano_yml_restates_no_default(name: str) -> None:
    restated = [s for s, d in declared(name).items() if "value" in d]
    assert restated == [], "the plugin's default applies; a project choice goes in `config:`"


def test_target_schema_and_settings_share_each_default() -> None:
    schema = TargetPDI.config_jsonschema["properties"]
    for f in fields(Settings):
        assert f.name in schema, f.name
        if "default" not in schema[f.name]:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        expected = list(default) if isinstance(default, tuple) else default
        assert schema[f.name]["default"] == expected, f.name
    assert set(own_settings(TargetPDI)) == {f.name for f in fields(Settings)}


def test_settings_from_an_empty_config_are_the_defaults() -> None:
    assert Settings.from_config({}) == Settings()
    assert Settings.from_config({"max_retries": 0, "max_concurrency": 0}).max_retries == 0
    assert (
        Settings.from_config({"max_concurrency": 0}).max_concurrency == Settings().max_concurrency
    )


def readme_settings(path: Path) -> list[list[str]]:
    """The rows of the table under `## Settings`."""
    section = path.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def test_the_target_readme_lists_its_settings_as_about_does_and_no_default() -> None:
    about = about_settings(TargetPDI)
    own = own_settings(TargetPDI)
    rows = readme_settings(ROOT / "target-pdi" / "README.md")
    assert [row[0] for row in rows] == own
    for setting, *rest in rows:
        assert rest == [about[setting].get("description", "")], setting
    header = (ROOT / "target-pdi" / "README.md").read_text().split("\n## Settings\n", 1)[1]
    assert not re.search(r"\|\s*Default\s*\|", header.split("\n## ", 1)[0])
