"""The crash sweep and the lost-answer sweep: the scenario played once per write, with that
write's fault, and PDI compared whole with the model after every run.

- crash at write k: PDI applies write k and the target dies before its answer (SIGKILL, no
  flush, no save, no STATE); the run is made again, then once more: PDI must be exact after
  each, the last must write nothing, and the later runs of the scenario go on exact.
- answer lost at write k: PDI applies write k and closes the connection unanswered; the run goes
  on (it retries, or looks for what it created) and PDI must be exact after it; once more
  writes nothing; the later runs go on exact.
- every first answer lost: each write's first answer (the first time PDI sees that request)
  is lost, in every run at once.

`python -m tests.reliability.sweeps` plays both sweeps whole and prints their figures (the
table in docs/reliability.md); tests/reliability/test_sweeps.py plays each write as a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from target_pdi.stores.deadletters import FileDeadLetterStore

from tests.reliability.sweep_expect import Expected, expectations
from tests.reliability.sweep_harness import Faults, InProcessSync, RunResult, Write, running_pdi
from tests.reliability.sweep_scenario import Run, build

RUNS = build()
EXPECTED = expectations(RUNS)
# How the runs are cut into batches (batch_size_rows): each run one batch, so a death loses
# everything the run did since it began (the id map is flushed and STATE passed on at a
# batch's end); and batches of 4 records, so a run crosses batch boundaries and a death
# leaves the batches before it saved.
BATCHINGS = {"one-batch": 1000, "batches-of-4": 4}


@dataclass
class Play:
    """What one play of the scenario found."""

    runs: int = 0  # syncs made (a killed one included)
    comparisons: int = 0  # times PDI was compared whole with the model
    problems: list[str] = field(default_factory=list)  # every discrepancy, one line each
    writes: list[Write] = field(default_factory=list)  # what PDI applied, in order
    faulted: list[Write] = field(default_factory=list)  # the writes whose answer never came

    @property
    def report(self) -> str:
        faulted = "; ".join(str(w) for w in self.faulted) or "no write faulted"
        return "\n".join([f"fault at {faulted}", *self.problems])


def dead_letters(sync: InProcessSync) -> set[tuple[str, str]]:
    return FileDeadLetterStore(sync.config["dead_letter_path"]).keys()


def check(play: Play, pdi: Any, sync: InProcessSync, run: Run, want: Expected, when: str) -> None:
    """PDI whole, and the dead letters, against what run ``run`` must have left."""
    play.comparisons += 1
    play.problems += [f"run {run.number} ({when}): {d}" for d in want.differences(pdi.state())]
    letters = dead_letters(sync)
    if letters != run.dead_letters:
        play.problems.append(
            f"run {run.number} ({when}): dead letters {sorted(letters)}, "
            f"expected {sorted(run.dead_letters)}"
        )


def sync_once(play: Play, sync: InProcessSync, run: Run, when: str) -> RunResult | None:
    """One sync; a run that fails (other than killed) is a problem, and the play goes on."""
    play.runs += 1
    try:
        result = sync.run(run)
    except Exception as exc:
        play.problems.append(f"run {run.number} ({when}) failed: {type(exc).__name__}: {exc}")
        return None
    if result.killed and run.bookmark in result.states:
        play.problems.append(f"run {run.number} ({when}): killed, yet passed its bookmark on")
    if not result.killed and result.states[-1:] != [run.bookmark]:
        play.problems.append(
            f"run {run.number} ({when}): last state {result.states[-1:]}, expected {run.bookmark}"
        )
    return result


def play(folder: Path, faults: Faults, batch_size: int) -> Play:
    """The scenario under ``faults``, PDI compared after every run. A run the fault touched
    is made again after a death, then once more, which must write nothing."""
    found = Play()
    with running_pdi(faults) as (pdi, server):
        sync = InProcessSync(folder, server, faults, batch_size)
        for run, want in zip(RUNS, EXPECTED, strict=True):
            lost_before = len(faults.lost)
            result = sync_once(found, sync, run, "its sync")
            touched = len(faults.lost) > lost_before
            if result is not None and result.killed:
                touched = True
                sync_once(found, sync, run, "run again after the death")
            check(found, pdi, sync, run, want, "after the fault" if touched else "its sync")
            if not touched:
                continue
            again = sync_once(found, sync, run, "once more")
            check(found, pdi, sync, run, want, "once more")
            if again is not None and again.writes:
                written = "; ".join(w.what for w in faults.writes[-again.writes :])
                found.problems.append(f"run {run.number} (once more): wrote {written}")
    found.writes = list(faults.writes)
    found.faulted = [w for w in faults.writes if w.number == faults.kill_at] + faults.lost
    return found


def clean(folder: Path, batch_size: int) -> Play:
    """The scenario with no fault: every write it makes."""
    return play(folder, Faults(), batch_size)


def crash_at(k: int, folder: Path, batch_size: int) -> Play:
    return play(folder, Faults(kill_at=k), batch_size)


def answer_lost_at(k: int, folder: Path, batch_size: int) -> Play:
    return play(folder, Faults(lose=lambda write: write.number == k), batch_size)


def every_first_answer_lost(folder: Path, batch_size: int) -> Play:
    """Every write's first answer lost: the first time PDI sees a request (method, path,
    body), it applies it and answers nothing; the same request again is answered."""
    seen: set[tuple[str, str, str]] = set()

    def first_time(write: Write) -> bool:
        request = (write.method, write.path, json.dumps(write.body, sort_keys=True))
        if request in seen:
            return False
        seen.add(request)
        return True

    return play(folder, Faults(lose=first_time), batch_size)


# --- the figures of a whole sweep ----------------------------------------------------------


@dataclass
class Figures:
    """One sweep, whole: how much it did and what it found."""

    name: str
    writes_swept: int = 0
    runs: int = 0
    comparisons: int = 0
    failing: dict[str, Play] = field(default_factory=dict)  # by case
    seconds: float = 0.0

    @property
    def discrepancies(self) -> int:
        return sum(len(found.problems) for found in self.failing.values())

    def row(self) -> str:
        return (
            f"| {self.name} | {self.writes_swept} | {self.runs} | {self.comparisons} | "
            f"{len(self.failing)} | {self.discrepancies} | {self.seconds:.1f} |"
        )


Case = Callable[[Path], Play]


def sweep(name: str, writes: int, cases: dict[str, Case]) -> Figures:
    figures = Figures(name, writes)
    started = time.monotonic()
    for case, play_case in cases.items():
        with tempfile.TemporaryDirectory() as folder:
            found = play_case(Path(folder) / "org")
        figures.runs += found.runs
        figures.comparisons += found.comparisons
        if found.problems:
            figures.failing[case] = found
    figures.seconds = time.monotonic() - started
    return figures


def sweeps(batching: str, batch_size: int) -> list[Figures]:
    """The crash sweep, the lost-answer sweep and every first answer lost, at one batching."""
    with tempfile.TemporaryDirectory() as folder:
        writes = len(clean(Path(folder) / "org", batch_size).writes)
    every = range(1, writes + 1)

    def crash(k: int) -> Case:
        return lambda folder: crash_at(k, folder, batch_size)

    def lost(k: int) -> Case:
        return lambda folder: answer_lost_at(k, folder, batch_size)

    def all_lost(folder: Path) -> Play:
        return every_first_answer_lost(folder, batch_size)

    return [
        sweep(f"crash ({batching})", writes, {f"crash at {k}": crash(k) for k in every}),
        sweep(f"answer lost ({batching})", writes, {f"lost at {k}": lost(k) for k in every}),
        sweep(f"every first answer lost ({batching})", writes, {"all lost": all_lost}),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.sweeps",
        description="Play the crash and lost-answer sweeps whole; print their figures.",
    )
    parser.add_argument("--verbose", action="store_true", help="print each failing case")
    parser.add_argument("--logs", action="store_true", help="let the target's log lines through")
    args = parser.parse_args(argv)
    if not args.logs:
        # The scenario's refusals log their dead letters in every one of the ~1,000 runs.
        logging.disable(logging.WARNING)
    started = time.monotonic()
    found = [f for batching, size in BATCHINGS.items() for f in sweeps(batching, size)]
    print(f"scenario: {len(RUNS)} runs; {time.monotonic() - started:.1f} s in all")
    print("| sweep | writes swept | runs | comparisons | failing cases | discrepancies | seconds |")
    print("|---|---|---|---|---|---|---|")
    for figures in found:
        print(figures.row())
    for figures in found:
        for case, play_found in figures.failing.items():
            if args.verbose:
                print(f"{figures.name}, {case}:\n  " + play_found.report.replace("\n", "\n  "))
            else:
                print(f"{figures.name}, {case}: {play_found.faulted[0]}: {play_found.problems[0]}")
    return 1 if any(f.failing for f in found) else 0


if __name__ == "__main__":
    sys.exit(main())
