"""Where the asset reads a run's summary when target-pdi keeps it at its default: Meltano's
system directory, one folder per environment (target_pdi/settings.py)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from mobilize_pdi_dagster.meltano import MeltanoProject

# `meltano config print <loader> --format=json` of a loader that sets no summary_path.
NO_SUMMARY_PATH = """\
#!{python}
import sys
assert sys.argv[1:3] == ["--environment=prod", "config"], sys.argv
print("{{}}")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MeltanoProject:
    (tmp_path / "meltano.yml").write_text("default_environment: dev\n")
    fake = tmp_path / "meltano"
    fake.write_text(NO_SUMMARY_PATH.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    monkeypatch.delenv("MELTANO_SYS_DIR_ROOT", raising=False)
    return MeltanoProject(project_dir=str(tmp_path), meltano_executable=str(fake))


def test_the_default_summary_is_the_environments_own(
    project: MeltanoProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tmp_path / ".meltano" / "target-pdi" / "prod" / "summary.json"
    assert project.summary_path("target-pdi") == expected
    monkeypatch.setenv("MELTANO_SYS_DIR_ROOT", str(tmp_path / "shared"))
    expected = tmp_path / "shared" / "target-pdi" / "prod" / "summary.json"
    assert project.summary_path("target-pdi") == expected
