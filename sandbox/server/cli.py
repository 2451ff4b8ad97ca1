"""The command line that starts a simulator: switch flags, answer flags, the app's own."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from sandbox.server.answers import Answers, add_answer_arguments, answers_from_flags
from sandbox.server.http_server import make_server
from sandbox.server.messages import App
from sandbox.server.switches import add_switch_arguments, switches_from_args


def run_cli(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    build_app: Callable[[argparse.Namespace], App],
    argv: Sequence[str] | None = None,
    answers_class: type[Answers] | None = None,
    prog: str | None = None,
) -> None:
    """Parse flags, build the app, and serve until interrupted.

    With ``answers_class``, ``--answers``/``--answer`` are added and ``build_app`` finds
    the resulting answers (a full dict) in ``args.answer_values``. ``prog`` names the
    command in ``--help`` (argparse's default is the file name, ``__main__.py`` for a
    package run with ``-m``).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_switch_arguments(parser)
    if answers_class is not None:
        add_answer_arguments(parser, answers_class)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if answers_class is not None:
        try:
            args.answer_values = answers_from_flags(answers_class, args.answers, args.answer)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        switches = switches_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    server = make_server(build_app(args), args.host, args.port, switches)
    print(f"{description} listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
