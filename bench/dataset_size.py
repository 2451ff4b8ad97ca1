"""The dataset-size flags both benchmarks take, defaulting to the size the issues name."""

from __future__ import annotations

import argparse

from sandbox.datagen.cli import add_spec_arguments, spec_from_args
from sandbox.datagen.dataset import DatasetSpec

BENCH_SIZE = {"events": 2000, "timeslots_per_event": 3, "people": 20000, "attendances": 60000}


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    parser.set_defaults(**BENCH_SIZE)


def size_flags(args: argparse.Namespace) -> tuple[DatasetSpec, list[str]]:
    """The spec, and the same size as flags for `python -m sandbox.mobilize`."""
    spec = spec_from_args(args)
    flags = [
        f"--{name.replace('_', '-')}={getattr(spec, name)}"
        for name in ("seed", "org_id", "events", "timeslots_per_event", "people", "attendances")
    ]
    return spec, flags
