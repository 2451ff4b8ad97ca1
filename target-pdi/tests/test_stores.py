"""The dead-letter and run-summary stores (stores.py), on files (the id map in SQLite) and in a
shared PostgreSQL database (the id map there): what the sync, status and `--last-run` rely on.

Each test runs on both backends, chosen as a project chooses them (from `id_map_url`): entries
kept exactly as they came, retried a batch at a time in the order they failed, a run's save
replacing the earlier runs' entries atomically, a dry run writing nothing, the history bounded,
a summary never read half-written. The PostgreSQL ones add what only a database does: the files
of before adopted once, entries read a page at a time, the table closed to other roles.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy
from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError
from target_pdi.operator_tools.run_summary import print_last
from target_pdi.stores import configured as stores
from target_pdi.stores import dead_letter_table, summary_files
from target_pdi.stores.dead_letter_table import TableDeadLetterStore
from target_pdi.stores.deadletters import DeadLetterStore, FileDeadLetterStore
from target_pdi.stores.summary_files import FileSummaryStore
from target_pdi.stores.summary_table import TableSummaryStore
from target_pdi.sync.drain import Drain
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.summary import Summary

BACKENDS = ["files", pytest.param("postgres", marks=pytest.mark.postgres)]
_databases = itertools.count()

# What a record may hold that a careless store would alter: text a redaction pattern matches,
# other scripts, an emoji, numbers that are not floats, nesting.
ODD_RECORD = {
    "id": 7,
    "given_name": "Zoë 李",
    "family_name": "",
    "email_addresses": [{"address": "token=abc123@example.org", "primary": True}],
    "notes": "password: hunter2 ✊🏽\n<b>html</b>",
    "modified_date": 1732880000,
    "nested": {"a": [1, 2.5, None, True]},
}


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A project's settings on one backend: a SQLite id map (files), or a PostgreSQL one (a
    fresh database on the session's server)."""
    if request.param == "files":
        url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    else:
        from tests.postgres_server import create_database

        server = request.getfixturevalue("postgres_url")
        url = create_database(server, f"stores_{os.getpid()}_{next(_databases)}")
    return Settings(
        id_map_url=url,
        organization="north",
        dead_letter_path=str(tmp_path / "north" / "dead_letters.jsonl"),
        summary_path=str(tmp_path / "north" / "summary.json"),
        batch_size_rows=5,
    )


@pytest.fixture
def postgres_settings(postgres_url: str, tmp_path: Path) -> Settings:
    from tests.postgres_server import create_database

    url = create_database(postgres_url, f"stores_{os.getpid()}_{next(_databases)}")
    return Settings(
        id_map_url=url,
        organization="north",
        dead_letter_path=str(tmp_path / "north" / "dead_letters.jsonl"),
        summary_path=str(tmp_path / "north" / "summary.json"),
        batch_size_rows=5,
    )


def opened(settings: Settings, *, read_only: bool | None = None) -> DeadLetterStore:
    return stores.dead_letter_store(settings, read_only=read_only)


def saved_run(settings: Settings, failures: list[tuple[str, int, dict[str, Any]]]) -> None:
    """One run that dead-lettered ``failures`` and saved them."""
    with closing(opened(settings)) as store:
        for stream, key, record in failures:
            store.add(stream, key, f"{stream} {key} refused", record, http_status=400, body="{}")
        store.save()


def people(n: int) -> list[tuple[str, int, dict[str, Any]]]:
    return [("people", i, {"id": i, "given_name": f"P{i}"}) for i in range(n)]


def signups(n: int) -> list[tuple[str, int, dict[str, Any]]]:
    return [("attendances", 100 + i, {"id": 100 + i, "person": {"id": i}}) for i in range(n)]


class RetryingEngine:
    """An engine that records each batch it is given and refuses the records named."""

    def __init__(self, store: DeadLetterStore, refuse: set[tuple[str, int]]) -> None:
        self.store = store
        self.refuse = refuse
        self.batches: list[list[tuple[str, int]]] = []

    def run(self, batch: Batch) -> None:
        assert batch.retry
        got = [(s, r["id"]) for s in ("people", "attendances") for r in getattr(batch, s)]
        self.batches.append(got)
        for stream in ("people", "attendances"):
            for record in getattr(batch, stream):
                if (stream, record["id"]) in self.refuse:
                    self.store.add(stream, record["id"], "refused again", record)


def retry(settings: Settings, refuse: set[tuple[str, int]]) -> RetryingEngine:
    """The next run's retry of every dead letter (the drain's own), and its save."""
    with closing(opened(settings)) as store:
        engine = RetryingEngine(store, refuse)
        drain = Drain(settings, Summary(), Mappings(), logging.getLogger("test"))
        runtime: Any = type("Runtime", (), {"deadletters": store, "engine": engine})()
        drain._retry_dead_letters(runtime, Batch())
        store.save()
    return engine


# --- dead letters, on both backends --------------------------------------------------------------


def test_the_backend_follows_the_id_map(settings: Settings) -> None:
    with closing(opened(settings)) as store, closing(stores.summary_store(settings)) as runs:
        if settings.id_map_url.startswith("sqlite"):
            assert isinstance(store, FileDeadLetterStore)
            assert store.where == settings.dead_letter_path
            assert isinstance(runs, FileSummaryStore)
        else:
            assert isinstance(store, TableDeadLetterStore)
            assert store.where.startswith("table target_pdi_dead_letters__north in postgresql")
            assert isinstance(runs, TableSummaryStore)
            assert runs.where.startswith("table target_pdi_run_summaries__north in postgresql")


def test_dead_letters_are_kept_as_they_came_and_retried_a_batch_at_a_time(
    settings: Settings,
) -> None:
    first = [*people(7), *signups(4), ("people", 7, ODD_RECORD)]
    with closing(opened(settings)) as store:
        for stream, key, record in first:
            store.add(stream, key, "no email", record)
        store.add("people", 3, "refused twice", {"id": 3, "given_name": "P3"})  # the last wins
        store.discard("people", 5)  # written after all, later in the run
        assert store.has("people", 3)
        assert not store.has("people", 5)
        assert len(store) == 11
        store.save()
    with closing(opened(settings, read_only=True)) as store:
        entries = list(store.entries())
        assert store.count() == 11
        assert store.waiting()
    assert [(e["stream"], e["key"]) for e in entries] == [
        *((s, str(k)) for s, k, _ in first if (s, k) != ("people", 5)),
    ]
    by_key = {(e["stream"], e["key"]): e for e in entries}
    assert by_key[("people", "7")]["record"] == ODD_RECORD
    assert by_key[("people", "3")]["reason"] == "refused twice"

    # The next run retries them in batches of batch_size_rows, in the order they failed; what
    # fails again stays, what was written is gone.
    engine = retry(settings, refuse={("people", 2), ("attendances", 101)})
    assert [len(b) for b in engine.batches] == [5, 5, 1]
    assert [k for b in engine.batches for k in b] == [
        (s, k) for s, k in (*((s, k) for s, k, _ in first),) if (s, k) != ("people", 5)
    ]
    with closing(opened(settings, read_only=True)) as store:
        assert store.keys() == {("people", "2"), ("attendances", "101")}
        assert [e["reason"] for e in store.entries()] == ["refused again", "refused again"]

    # All written: nothing waits.
    retry(settings, refuse=set())
    with closing(opened(settings, read_only=True)) as store:
        assert store.keys() == set()
        assert store.count() == 0


def test_a_retry_that_fails_again_keeps_its_first_failure(settings: Settings) -> None:
    saved_run(settings, people(2))
    with closing(opened(settings, read_only=True)) as store:
        first = {e["key"]: e["first_ts"] for e in store.entries()}
    retry(settings, refuse={("people", 0)})
    with closing(opened(settings, read_only=True)) as store:
        (entry,) = store.entries()
    assert entry["key"] == "0"
    assert entry["first_ts"] == first["0"] < entry["ts"]


def test_later_saves_of_a_run_add_its_failures_and_drop_what_it_wrote(settings: Settings) -> None:
    saved_run(settings, people(2))
    with closing(opened(settings)) as store:
        store.add("people", 10, "refused", {"id": 10})
        store.save()  # the first save of the run: the earlier runs' entries are replaced
        store.add("people", 11, "refused", {"id": 11})
        store.discard("people", 10)
        store.save()
        assert store.has("people", 11)
        assert not store.has("people", 10)
    with closing(opened(settings, read_only=True)) as store:
        assert store.keys() == {("people", "11")}


def test_keep_earlier_keeps_what_the_run_did_not_retry(settings: Settings) -> None:
    saved_run(settings, people(3))
    with closing(opened(settings)) as store:
        store.keep_earlier()  # reconcile --fix: no retry
        store.add("people", 1, "refused by the fix", {"id": 1})
        store.add("people", 9, "refused by the fix", {"id": 9})
        store.save()
    with closing(opened(settings, read_only=True)) as store:
        reasons = {e["key"]: e["reason"] for e in store.entries()}
    assert reasons == {
        "0": "people 0 refused",
        "1": "refused by the fix",
        "2": "people 2 refused",
        "9": "refused by the fix",
    }


def test_a_dry_run_writes_no_dead_letter(settings: Settings) -> None:
    dry = Settings(**{**settings.__dict__, "dry_run": True})
    with closing(opened(dry)) as store:
        store.add("people", 1, "no email", {"id": 1})
        store.save()
    assert not Path(settings.dead_letter_path).exists()
    if not settings.id_map_url.startswith("sqlite"):
        engine = sqlalchemy.create_engine(settings.id_map_url)
        assert sqlalchemy.inspect(engine).get_table_names() == []
        engine.dispose()
    saved_run(settings, people(2))
    with closing(opened(dry)) as store:
        assert store.keys() == {("people", "0"), ("people", "1")}
        store.add("people", 5, "no email", {"id": 5})
        store.save()
    with closing(opened(settings, read_only=True)) as store:
        assert store.keys() == {("people", "0"), ("people", "1")}


def test_a_save_that_fails_leaves_the_earlier_entries(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved_run(settings, people(3))
    store = opened(settings)
    store.add("people", 9, "refused", {"id": 9})
    if isinstance(store, TableDeadLetterStore):
        # The insert fails after the earlier entries were deleted, in the same transaction.
        def refuse_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT"):
                raise RuntimeError("the database went away")

        sqlalchemy.event.listen(store._engine, "before_cursor_execute", refuse_inserts)
        with pytest.raises(RuntimeError):
            store.save()
    else:

        def no_rename(*args: Any) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", no_rename)
        with pytest.raises(OSError, match="disk full"):
            store.save()
        monkeypatch.undo()
    store.close()
    with closing(opened(settings, read_only=True)) as store:
        assert store.keys() == {("people", "0"), ("people", "1"), ("people", "2")}


# --- dead letters, what only the database does ----------------------------------------------------


@pytest.mark.postgres
def test_entries_are_read_a_page_at_a_time(
    postgres_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved_run(postgres_settings, people(5))
    monkeypatch.setattr(dead_letter_table, "PAGE", 2)
    with closing(opened(postgres_settings, read_only=True)) as store:
        entries = store.entries()
        assert next(entries)["key"] == "0"
        # Rows deleted now are not read: only the page already read is in memory.
        with psycopg.connect(plain(postgres_settings.id_map_url)) as conn:
            conn.execute("DELETE FROM target_pdi_dead_letters__north")
        assert [e["key"] for e in entries] == ["1"]


def write_file(path: Path, entries: list[dict[str, Any]], garbage: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + garbage)


def entry(key: int, reason: str = "no email") -> dict[str, Any]:
    return {"stream": "people", "key": str(key), "reason": reason, "record": {"id": key}}


@pytest.mark.postgres
def test_the_dead_letter_file_of_before_is_adopted_once(
    postgres_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = Path(postgres_settings.dead_letter_path)
    write_file(path, [entry(3), entry(1, "refused"), {**entry(2), "record": ODD_RECORD}], "oops\n")
    # Before any run on the database, readers see the file: nothing is lost in between.
    with closing(opened(postgres_settings, read_only=True)) as store:
        assert store.keys() == {("people", "3"), ("people", "1"), ("people", "2")}
        assert store.count() == 3
    assert path.exists()
    with caplog.at_level(logging.INFO), closing(opened(postgres_settings)) as store:
        assert [e["key"] for e in store.entries()] == ["3", "1", "2"]  # the file's order
        assert [e["record"] for e in store.entries()][2] == ODD_RECORD
    assert not path.exists()
    assert "3 entries of" in caplog.text

    # Adopting again (a crash came before the file was deleted, or the organization went back
    # to files for a while) adds only what the table lacks and overwrites nothing.
    write_file(path, [entry(1, "from the file again"), entry(4)])
    with closing(opened(postgres_settings)) as store:
        reasons = {e["key"]: e["reason"] for e in store.entries()}
    assert reasons == {"3": "no email", "1": "refused", "2": "no email", "4": "no email"}
    assert not path.exists()


@pytest.mark.postgres
def test_no_other_role_reads_the_dead_letters(postgres_settings: Settings) -> None:
    with psycopg.connect(plain(postgres_settings.id_map_url), autocommit=True) as conn:
        conn.execute("CREATE ROLE reporting")
        # A database that gives every new table to everyone: the dead letters still are not.
        conn.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")
    saved_run(postgres_settings, people(1))
    with psycopg.connect(plain(postgres_settings.id_map_url)) as conn:
        row = conn.execute(
            "SELECT has_table_privilege('reporting', 'target_pdi_dead_letters__north', 'SELECT')"
        ).fetchone()
    assert row == (False,)


@pytest.mark.postgres
def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://sync:s3cret-pw@127.0.0.1:9/shared"  # port 9: nothing listens
    settings = Settings(id_map_url=url, dead_letter_path=str(tmp_path / "d.jsonl"))
    with pytest.raises(FatalError) as caught:
        opened(settings, read_only=True)
    message = str(caught.value)
    assert message.startswith(
        "cannot open the dead letters (table target_pdi_dead_letters in "
        "postgresql+psycopg://sync:***@127.0.0.1:9/shared): "
    )
    assert "s3cret-pw" not in message
    assert "\n" not in message


# --- run summaries, on both backends -------------------------------------------------------------


def summaries(settings: Settings) -> stores.SummaryStore:
    return stores.summary_store(settings)


def test_the_history_keeps_the_last_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_files, "HISTORY_LIMIT", 5)
    with closing(summaries(settings)) as runs:
        assert runs.last() is None
        assert runs.history() == []
        for n in range(8):
            runs.write({"run_id": f"r{n}", "status": "succeeded", "n": n})
    with closing(summaries(settings)) as runs:
        assert [r["n"] for r in runs.history()] == [3, 4, 5, 6, 7]
        assert runs.last() == {"run_id": "r7", "status": "succeeded", "n": 7}


def test_a_dry_runs_summary_is_apart(settings: Settings) -> None:
    """What a dry run would have done is kept, but never as the last run nor in the history;
    a dry run replaces the previous one."""
    with closing(summaries(settings)) as runs:
        runs.write({"run_id": "real", "dry_run": False})
        runs.write({"run_id": "dry1", "dry_run": True})
        runs.write({"run_id": "dry2", "dry_run": True})
        assert runs.last() == {"run_id": "real", "dry_run": False}
        assert runs.last_dry_run() == {"run_id": "dry2", "dry_run": True}
        assert [r["run_id"] for r in runs.history()] == ["real"]
        assert runs.dry_run_where != runs.where


def test_a_summary_is_never_read_half_written(settings: Settings) -> None:
    """Readers (status, last-run, Dagster) come at any time: each read is one whole summary."""
    done = threading.Event()
    errors: list[BaseException] = []

    def write_runs() -> None:
        try:
            with closing(summaries(settings)) as runs:
                for n in range(1, 41):
                    # Large enough that a file written in place is read in pieces.
                    runs.write({"n": n, "filler": [n] * 20_000, "end": n})
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write_runs)
    writer.start()
    seen: list[int] = []
    with closing(summaries(settings)) as runs:
        while not done.is_set():
            last = runs.last()
            if last is not None:
                assert last["filler"] == [last["n"]] * 20_000
                assert last["end"] == last["n"]
                seen.append(last["n"])
    writer.join()
    assert not errors
    assert seen == sorted(seen)  # never an older run after a newer one
    assert len(set(seen)) > 1  # the reads did come while the runs were being written


def test_last_run_prints_the_stores_last_summary(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert print_last(settings) == 1
    assert "no run yet (no summary at " in capsys.readouterr().err
    with closing(summaries(settings)) as runs:
        runs.write({"run_id": "a", "n": 1})
        runs.write({"run_id": "b", "n": 2})
    assert print_last(settings) == 0
    assert json.loads(capsys.readouterr().out) == {"run_id": "b", "n": 2}


@pytest.mark.postgres
def test_the_summary_files_of_before_are_adopted(postgres_settings: Settings) -> None:
    path = Path(postgres_settings.summary_path)
    for n in range(3):
        summary_files.write(path, {"run_id": f"old{n}", "n": n})
    with closing(summaries(postgres_settings)) as runs:
        assert runs.last() == {"run_id": "old2", "n": 2}  # read from the files until then
        runs.write({"run_id": "new", "n": 3})
        assert [r["n"] for r in runs.history()] == [0, 1, 2, 3]
        assert runs.last() == {"run_id": "new", "n": 3}
    assert not summary_files.history_path(path).exists()
    # What stays on this machine is its copy of the run it made, for a script run right after.
    assert json.loads(path.read_text()) == {"run_id": "new", "n": 3}


@pytest.mark.postgres
def test_a_dry_run_before_any_real_run_adopts_nothing(postgres_settings: Settings) -> None:
    path = Path(postgres_settings.summary_path)
    summary_files.write(path, {"run_id": "old", "dry_run": False})
    with closing(summaries(postgres_settings)) as runs:
        runs.write({"run_id": "preview", "dry_run": True})
        assert runs.last() == {"run_id": "old", "dry_run": False}
        assert runs.last_dry_run() == {"run_id": "preview", "dry_run": True}
    assert summary_files.history_path(path).exists()
    engine = sqlalchemy.create_engine(postgres_settings.id_map_url)
    assert sqlalchemy.inspect(engine).get_table_names() == []
    engine.dispose()


@pytest.mark.postgres
def test_summaries_of_organizations_never_meet(postgres_settings: Settings) -> None:
    south = Settings(
        **{
            **postgres_settings.__dict__,
            "organization": "south",
            "dead_letter_path": postgres_settings.dead_letter_path.replace("north", "south"),
            "summary_path": postgres_settings.summary_path.replace("north", "south"),
        }
    )
    with closing(summaries(postgres_settings)) as north_runs:
        north_runs.write({"organization": "north"})
    with closing(summaries(south)) as south_runs:
        assert south_runs.last() is None
    saved_run(postgres_settings, people(2))
    with closing(opened(south, read_only=True)) as store:
        assert store.keys() == set()
