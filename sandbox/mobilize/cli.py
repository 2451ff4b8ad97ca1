"""``python -m sandbox.mobilize``: the simulator's flags (the dataset, the key, paging)
on top of the common switches of ``sandbox.server`` and the answers."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from sandbox.datagen.build import generate
from sandbox.datagen.cli import add_spec_arguments, spec_from_args
from sandbox.datagen.dataset import Dataset
from sandbox.mobilize.answers import MobilizeAnswers
from sandbox.mobilize.app import MobilizeApp
from sandbox.mobilize.auth import DEFAULT_API_KEY
from sandbox.server.cli import run_cli


def build_app(args: argparse.Namespace) -> MobilizeApp:
    if args.data is not None:
        dataset = Dataset.from_json(Path(args.data).read_bytes())
    else:
        dataset = generate(spec_from_args(args))
    return MobilizeApp(
        dataset,
        api_key=args.api_key,
        max_per_page=args.max_per_page,
        answers=getattr(args, "answer_values", None),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, help="dataset JSON from sandbox.datagen --out")
    add_spec_arguments(parser)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--max-per-page", type=int, default=1000, help="larger per_page: clamped")
    # Mobilize allows 15 GET/s per client; the common flag's default (no limit) is overridden.
    parser.set_defaults(rate_limit=15)


def main(argv: Iterable[str] | None = None) -> None:
    run_cli(
        "Mobilize API simulator",
        add_arguments,
        build_app,
        None if argv is None else list(argv),
        answers_class=MobilizeAnswers,
        prog="python -m sandbox.mobilize",
    )
