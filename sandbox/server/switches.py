"""The fault-injection switches (latency and latency spikes, failures, the requests of one
record refused, 429 above a rate, dropped connections, the whole API down): their values,
checked as ``POST /__admin/switches`` and the command line set them."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args, get_type_hints


@dataclass
class Switches:
    latency_ms: float = 0
    # Latency spikes: this fraction of requests waits spike_ms more (on top of latency_ms),
    # the slow tail that a client's timeouts and concurrency must live with.
    spike_rate: float = 0.0
    spike_ms: float = 200
    fail_rate: float = 0.0
    fail_status: int = 503
    fail_next: int = 0
    # Every request whose body holds this text fails with fail_status, until the switch is
    # cleared (null): the API refusing one record for a reason of its own (say a contact, by
    # its email), then taking it again, as a record that a later run's retry can write.
    fail_body_containing: str | None = None
    rate_limit: float | None = None
    retry_after: int | None = None
    drop_rate: float = 0.0
    drop_next: int = 0
    # Interpreted by apps that write: the write is done, then the connection dropped,
    # which is how a client loses the answer to a create that did happen.
    drop_after_write_next: int = 0
    # The API is down: every API request is read and its connection closed unanswered
    # (the client sees a connection error); /__admin/* keeps answering, so a test can
    # bring the API back.
    down: bool = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial change. Every value is checked first, so a rejected change
        leaves every switch as it was (``{"down": "false"}`` must not take the API down)."""
        if not isinstance(changes, Mapping):
            raise ValueError("switches: expected a JSON object of name: value")
        hints = get_type_hints(type(self))
        unknown = set(changes) - set(hints)
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}; known: {sorted(hints)}")
        for name, value in changes.items():
            _check_switch(name, value, hints[name])
        for name, value in changes.items():
            setattr(self, name, value)


def _check_switch(name: str, value: Any, annotation: Any) -> None:
    allowed = get_args(annotation) or (annotation,)
    if value is None:
        ok = type(None) in allowed
    elif isinstance(value, bool):  # before int: True is an int in Python, not in JSON
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    elif isinstance(value, float):
        ok = float in allowed and math.isfinite(value)
    elif isinstance(value, str):
        ok = str in allowed and bool(value)
    else:
        ok = False
    spelled = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    if not ok:
        raise ValueError(
            f"invalid value {json.dumps(value, default=repr)} for switch {name}: expected {spelled}"
        )
    if value is None or isinstance(value, bool | str):
        return
    if value < 0 or (name.endswith("_rate") and value > 1):
        bounds = "between 0 and 1" if name.endswith("_rate") else "0 or more"
        raise ValueError(f"invalid value {value} for switch {name}: expected {bounds}")
    if name == "fail_status" and not 100 <= value <= 599:
        raise ValueError(f"invalid value {value} for switch {name}: expected an HTTP status")


def add_switch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument(
        "--spike-rate", type=float, default=0.0, help="fraction of requests delayed by --spike-ms"
    )
    parser.add_argument(
        "--spike-ms", type=float, default=200, help="extra delay of a spike (default 200)"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests/s per client; above: 429"
    )
    parser.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds on 429s")
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument(
        "--down",
        action="store_true",
        help="start down: API requests closed unanswered until POST /__admin/switches "
        '{"down": false}',
    )


def switches_from_args(args: argparse.Namespace) -> Switches:
    """The switches the flags give, checked as ``POST /__admin/switches`` checks them
    (ValueError naming the switch)."""
    switches = Switches()
    switches.update(
        {
            "latency_ms": args.latency_ms,
            "spike_rate": args.spike_rate,
            "spike_ms": args.spike_ms,
            "fail_rate": args.fail_rate,
            "fail_status": args.fail_status,
            "rate_limit": args.rate_limit,
            "retry_after": args.retry_after,
            "drop_rate": args.drop_rate,
            "down": args.down,
        }
    )
    return switches
