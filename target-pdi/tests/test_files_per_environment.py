"""Each Meltano environment keeps its own id map, dead letters and run summary (settings.py),
under Meltano's system directory; files of the folder they all shared before are left alone,
and a run says so (files_left_behind.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools.files_left_behind import files_left_behind, warn_of_files_left_behind


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path / "project"))
    monkeypatch.delenv("MELTANO_SYS_DIR_ROOT", raising=False)
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    return tmp_path / "project"


def defaults() -> tuple[str, str, str]:
    settings = Settings()
    return settings.id_map_url, settings.dead_letter_path, settings.summary_path


def test_each_environment_has_its_own_files_under_meltanos_system_directory(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    prod = project / ".meltano" / "target-pdi" / "prod"
    assert defaults() == (
        f"sqlite:///{prod / 'idmap.sqlite'}",
        str(prod / "dead_letters.jsonl"),
        str(prod / "summary.json"),
    )
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "dev")
    assert defaults()[0] == f"sqlite:///{project / '.meltano' / 'target-pdi' / 'dev'}/idmap.sqlite"
    # A system directory elsewhere (MELTANO_SYS_DIR_ROOT) holds them, not the project's.
    monkeypatch.setenv("MELTANO_SYS_DIR_ROOT", str(tmp_path / "sys"))
    assert defaults()[1] == str(tmp_path / "sys" / "target-pdi" / "dev" / "dead_letters.jsonl")


def test_without_an_environment_the_files_stay_where_they_were(project: Path) -> None:
    assert defaults()[2] == str(project / ".meltano" / "target-pdi" / "summary.json")


def shared_folder(project: Path) -> Path:
    """The folder every environment shared, with what an earlier version left there."""
    shared = project / ".meltano" / "target-pdi"
    shared.mkdir(parents=True)
    for name in ("idmap.sqlite", "dead_letters.jsonl", "summary.json"):
        (shared / name).write_text("")
    return shared


def test_files_left_in_the_shared_folder_are_named_in_one_line_and_not_used(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shared = shared_folder(project)
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    settings = Settings()
    assert Path(settings.dead_letter_path).parent == shared / "prod"
    with caplog.at_level(logging.WARNING, logger="target-pdi"):
        warn_of_files_left_behind(settings)
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(
        f"Not used: {shared / 'idmap.sqlite'}, {shared / 'dead_letters.jsonl'}, "
        f"{shared / 'summary.json'}, from before each Meltano environment had its own files"
    )
    assert f"This run (environment prod) uses its own, in {shared / 'prod'} (a new id" in line
    assert f"move dead_letters.jsonl into {shared / 'prod'} if they are this" in line
    assert "--full-refresh" in line
    assert line.endswith("Then delete the old files.")


def test_nothing_to_say_without_old_files_an_environment_or_a_folder_per_environment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    assert files_left_behind(Settings()) == []  # nothing was left
    shared_folder(project)
    assert len(files_left_behind(Settings())) == 3
    # Paths chosen by hand that are not in a folder named after the environment.
    chosen = tmp_path / "chosen"
    (tmp_path / "dead_letters.jsonl").write_text("")
    assert files_left_behind(Settings(dead_letter_path=str(chosen / "dead_letters.jsonl"))) == [
        project / ".meltano" / "target-pdi" / "idmap.sqlite",
        project / ".meltano" / "target-pdi" / "summary.json",
    ]
    monkeypatch.delenv("MELTANO_ENVIRONMENT")
    assert files_left_behind(Settings()) == []
