"""The packages' metadata: compatible ranges others can install beside their own pins, which
the exact versions of requirements-dev.lock (what the tests run) satisfy; and one build hook,
the same in both plugins, that puts the shared `pacing` package in their sdists and wheels
(tests/e2e/test_installable.py builds and installs them)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["pacing", "tap-mobilize", "target-pdi"]


def requirements(package: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [Requirement(r) for r in [*project["dependencies"], *(r for e in extras for r in e)]]


def locked() -> dict[str, str]:
    lines = (ROOT / "requirements-dev.lock").read_text().splitlines()
    pins = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
    return {canonicalize_name(name): version.strip() for name, version in pins}


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_are_ranges_the_lock_satisfies(package: str) -> None:
    lock = locked()
    for requirement in requirements(package):
        assert not any(s.operator in {"==", "==="} for s in requirement.specifier), requirement
        assert requirement.specifier, f"{requirement}: give the range the plugin works with"
        assert requirement.url is None, f"{requirement}: pip finds no direct reference on PyPI"
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement.name} is not in requirements-dev.lock"
        assert requirement.specifier.contains(lock[name]), f"{requirement} vs lock {lock[name]}"


@pytest.mark.parametrize("plugin", ["tap-mobilize", "target-pdi"])
def test_plugins_carry_pacing_instead_of_depending_on_it(plugin: str) -> None:
    names = {canonicalize_name(r.name) for r in requirements(plugin)}
    assert "mobilize-pdi-pacing" not in names, "no index has it: the wheel carries pacing"
    # ...and so each plugin lists pacing's own dependencies.
    assert {canonicalize_name(r.name) for r in requirements("pacing")} - {"pytest"} <= names


def test_both_plugins_build_with_the_same_hook() -> None:
    hooks = [(ROOT / p / "hatch_build.py").read_text() for p in ["tap-mobilize", "target-pdi"]]
    assert hooks[0] == hooks[1]
