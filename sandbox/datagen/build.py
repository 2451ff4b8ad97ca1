"""One dataset from its spec: the generators run in a fixed order on one random stream."""

from __future__ import annotations

from sandbox.datagen.attendances import AttendanceGenerator
from sandbox.datagen.dataset import GENERATED_AT, Dataset, DatasetSpec, gc_paused
from sandbox.datagen.draws import Draws
from sandbox.datagen.events import EventGenerator, EventMix, deleted_events
from sandbox.datagen.organizations import organizations
from sandbox.datagen.people import people
from sandbox.datagen.vocabulary import TAG_NAMES


def _check(spec: DatasetSpec) -> None:
    for knob in ("events", "timeslots_per_event", "people", "attendances"):
        if getattr(spec, knob) < 0:
            raise ValueError(f"{knob} must be >= 0")
    if spec.attendances and not (spec.people and spec.events and spec.timeslots_per_event):
        raise ValueError("attendances need people, events and timeslots")


def _build(spec: DatasetSpec) -> Dataset:
    _check(spec)
    draws = Draws(spec.seed)
    own, others = organizations(draws, spec.org_id)
    # The first four others are promoted by the org (their events appear in its feed).
    promoting = others[:4]
    tags = [{"id": 9000 + i, "name": name} for i, name in enumerate(TAG_NAMES)]
    mix = EventMix.draw(draws, spec.events, bool(promoting))
    events = EventGenerator(draws, spec.timeslots_per_event, mix, own, promoting, tags).events()
    deleted, private_deleted = deleted_events(draws, mix.deleted_ids)
    persons = people(draws, spec.people)
    attendances = AttendanceGenerator(draws, own, events, persons).attendances(spec.attendances)
    return Dataset(
        spec=spec,
        generated_at=GENERATED_AT,
        organization=own,
        organizations=[own, *others],
        promoted_organization_ids=[o["id"] for o in promoting],
        events=events,
        deleted_events=deleted,
        private_deleted_event_ids=private_deleted,
        people=persons,
        attendances=attendances,
        tags=tags,
    )


def generate(spec: DatasetSpec | None = None) -> Dataset:
    """Build the dataset for ``spec`` (deterministic for a given seed and size knobs)."""
    with gc_paused():
        return _build(spec or DatasetSpec())
