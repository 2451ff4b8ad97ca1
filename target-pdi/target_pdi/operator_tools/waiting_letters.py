"""The dead letters waiting, as `status` tells them: how many of each kind, since when, and what
it takes for them to succeed. Never a record: only the stream, the reason's kind, the time.

`waiting(settings)` is the one read of the dead letters (wherever they are kept), so that a
different store changes this function only.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

from target_pdi.configuration.settings import Settings
from target_pdi.rules.people_payloads import MALFORMED_EMAIL, NO_EMAIL
from target_pdi.rules.verdict import finished_at
from target_pdi.stores.configured import dead_letter_store

# Reasons of records that wait for another one (writers/signups.py, engine.py).
CONTACT_FAILED = "contact for person "
EVENT_FAILED = "event "
WAS_DEAD_LETTERED = " was dead-lettered"
# What a person calls each stream's records: one, many.
NOUNS = {
    "people": ("person", "people"),
    "attendances": ("signup", "signups"),
    "events": ("event", "events"),
    "deleted_events": ("deleted event", "deleted events"),
    "cancellations": ("cancellation", "cancellations"),
}


@dataclass(frozen=True)
class Waiting:
    """One dead letter, without its record."""

    stream: str
    reason: str
    http_status: int | None
    since: datetime | None  # when it first failed


@dataclass(frozen=True)
class Kind:
    """Dead letters that fail for the same kind of reason, and what makes them succeed."""

    what: str
    remedy: str


def waiting(settings: Settings) -> list[Waiting]:
    """Every dead letter the next run will retry, wherever they are kept (stores.py)."""
    with closing(dead_letter_store(settings, read_only=True)) as store:
        return [
            Waiting(
                stream=str(entry["stream"]),
                reason=str(entry.get("reason") or ""),
                http_status=(
                    entry["http_status"] if isinstance(entry.get("http_status"), int) else None
                ),
                since=finished_at({"finished_at": entry.get("first_ts") or entry.get("ts")}),
            )
            for entry in store.entries()
        ]


def kind_of(letter: Waiting, count: int) -> Kind:
    one, many = NOUNS.get(letter.stream, (letter.stream, letter.stream))
    noun = one if count == 1 else many
    if letter.reason in (NO_EMAIL, MALFORMED_EMAIL):
        who = noun if letter.stream == "people" else f"{noun} of people"
        return Kind(
            f"{who} without a usable email address",
            "they cannot succeed until someone gives them one in Mobilize",
        )
    if letter.reason.startswith(CONTACT_FAILED):
        return Kind(
            f"{noun} of people whose contact failed",
            "they follow once their person is written",
        )
    if letter.reason.startswith(EVENT_FAILED) and letter.reason.endswith(WAS_DEAD_LETTERED):
        return Kind(f"{noun} of events that failed", "they follow once their event is written")
    if letter.http_status is not None:
        return Kind(
            f"{noun} refused by PDI (HTTP {letter.http_status})",
            "retried every run; PDI's answer is in the dead-letter file",
        )
    return Kind(f"{noun} that failed", "retried every run; each reason is in the dead-letter file")


def describe(letters: Iterable[Waiting]) -> list[str]:
    """One line per kind, most numerous first: how many, since when, what it takes."""
    groups: dict[Kind, list[Waiting]] = {}
    for letter in letters:
        groups.setdefault(kind_of(letter, 2), []).append(letter)
    lines = []
    for group in sorted(groups.values(), key=lambda g: (-len(g), kind_of(g[0], 2).what)):
        kind = kind_of(group[0], len(group))
        times = [letter.since for letter in group if letter.since is not None]
        first = min(times).astimezone(UTC) if times else None
        since = f", the first since {first:%Y-%m-%d %H:%M} UTC" if first else ""
        lines.append(f"{len(group)} {kind.what}{since}: {kind.remedy}")
    return lines
