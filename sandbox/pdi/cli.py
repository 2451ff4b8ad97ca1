"""``python -m sandbox.pdi``: the PDI simulator's flags, on top of the switch and answer flags."""

from __future__ import annotations

import argparse

from sandbox.pdi.answers import PdiAnswers
from sandbox.pdi.app import PdiApp
from sandbox.pdi.calendars import DEFAULT_CALENDARS, DEFAULT_TIME_ZONE
from sandbox.pdi.sessions import DEFAULT_API_TOKEN, DEFAULT_PASSWORD, DEFAULT_USERNAME
from sandbox.server.cli import run_cli


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--api-token", default=DEFAULT_API_TOKEN)
    parser.add_argument(
        "--calendars", default=",".join(DEFAULT_CALENDARS), help="comma-separated calendar names"
    )
    parser.add_argument("--calendar-time-zone", default=DEFAULT_TIME_ZONE)
    parser.add_argument("--token-ttl-seconds", type=float, default=3600)
    parser.add_argument("--max-limit", type=int, default=2000)
    parser.add_argument(
        "--default-limit", type=int, default=100, help="page size when limit is omitted"
    )
    parser.add_argument(
        "--naive-expiration",
        action="store_true",
        help="send ExpirationDate without a zone designator",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the deterministic ids")


def build_app(args: argparse.Namespace) -> PdiApp:
    return PdiApp(
        username=args.username,
        password=args.password,
        api_token=args.api_token,
        calendars=[name.strip() for name in args.calendars.split(",") if name.strip()],
        token_ttl_seconds=args.token_ttl_seconds,
        max_limit=args.max_limit,
        default_limit=args.default_limit,
        naive_expiration=args.naive_expiration,
        seed=args.seed,
        time_zone=args.calendar_time_zone,
        answers=getattr(args, "answer_values", None),
    )


def main(argv: list[str] | None = None) -> None:
    run_cli(
        "PDI sandbox",
        _add_arguments,
        build_app,
        argv,
        answers_class=PdiAnswers,
        prog="python -m sandbox.pdi",
    )
