"""``python -m sandbox.datagen``: write a dataset and print its expected counts; the size
and seed flags are shared with the Mobilize simulator's CLI."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import DatasetSpec


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The size and seed flags, shared by this CLI and the Mobilize simulator's."""
    defaults = DatasetSpec()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--org-id", type=int, default=defaults.org_id)
    parser.add_argument("--events", type=int, default=defaults.events)
    parser.add_argument("--timeslots-per-event", type=int, default=defaults.timeslots_per_event)
    parser.add_argument("--people", type=int, default=defaults.people)
    parser.add_argument("--attendances", type=int, default=defaults.attendances)


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    return DatasetSpec(
        seed=args.seed,
        org_id=args.org_id,
        events=args.events,
        timeslots_per_event=args.timeslots_per_event,
        people=args.people,
        attendances=args.attendances,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate a deterministic Mobilize dataset.")
    add_spec_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="write the dataset JSON here")
    parser.add_argument(
        "--full", action="store_true", help="embed full objects in attendances (8x bigger file)"
    )
    args = parser.parse_args(argv)
    spec = spec_from_args(args)
    started = time.perf_counter()
    dataset = generate(spec)
    elapsed = time.perf_counter() - started
    if args.out is not None:
        args.out.write_text(dataset.to_json(compact=not args.full), encoding="utf-8")
    print(json.dumps(dataset.expected_counts()))
    print(f"generated in {elapsed:.2f}s", file=sys.stderr)
