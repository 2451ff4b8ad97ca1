"""The deterministic Mobilize dataset generator."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from sandbox.datagen import cli
from sandbox.datagen.build import generate
from sandbox.datagen.dataset import (
    GENERATED_AT,
    TIMESLOTS_FROM,
    TIMESLOTS_TO,
    Dataset,
    DatasetSpec,
)
from sandbox.datagen.vocabulary import (
    COMMON_EVENT_TYPES,
    PRIVATE_ADDRESS_PLACEHOLDER,
    US_TIMEZONES,
)

SPEC = DatasetSpec(seed=7, events=400, timeslots_per_event=3, people=1000, attendances=3000)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(SPEC)


def test_same_seed_same_dataset_other_seed_differs() -> None:
    small = DatasetSpec(seed=3, events=30, people=50, attendances=100)
    assert generate(small).to_json() == generate(small).to_json()
    other = generate(DatasetSpec(seed=4, events=30, people=50, attendances=100))
    assert other.to_json() != generate(small).to_json()


@pytest.mark.parametrize(
    "spec",
    [
        DatasetSpec(),
        DatasetSpec(seed=2, events=1, timeslots_per_event=1, people=1, attendances=1),
        DatasetSpec(seed=5, events=123, timeslots_per_event=4, people=77, attendances=999),
        DatasetSpec(seed=6, events=10, timeslots_per_event=0, people=5, attendances=0),
    ],
)
def test_counts_are_exact(spec: DatasetSpec) -> None:
    ds = generate(spec)
    counts = ds.expected_counts()
    assert counts["events"] == spec.events
    assert counts["timeslots"] == spec.events * spec.timeslots_per_event
    assert counts["people"] == spec.people
    assert counts["attendances"] == spec.attendances
    assert counts["masked_attendances"] == (
        max(1, round(spec.attendances / 100)) if spec.attendances else 0
    )
    assert counts["deleted_events"] == max(1, spec.events // 400)
    assert counts["organization"] == 1
    assert len(ds.attendances) == counts["attendances"] + counts["masked_attendances"]


def test_default_counts(dataset: Dataset) -> None:
    assert dataset.expected_counts() == {
        "events": 400,
        "timeslots": 1200,
        "deleted_events": 1,
        "people": 1000,
        "attendances": 3000,
        "masked_attendances": 30,
        "organization": 1,
    }


def test_timeslots_per_event_vary_around_the_knob(dataset: Dataset) -> None:
    per_event = Counter(len(e["timeslots"]) for e in dataset.events)
    assert min(per_event) >= 1
    assert len(per_event) >= 3
    assert per_event[3] > 0


def test_ids_unique_and_sorted(dataset: Dataset) -> None:
    for name in ("events", "people", "deleted_events", "organizations"):
        ids = [r["id"] for r in getattr(dataset, name)]
        assert len(ids) == len(set(ids)), name
    event_ids = [e["id"] for e in dataset.events]
    assert event_ids == sorted(event_ids)
    slot_ids = [t["id"] for e in dataset.events for t in e["timeslots"]]
    assert len(slot_ids) == len(set(slot_ids))
    attendance_ids = [a["id"] for a in dataset.attendances if a["id"] is not None]
    assert attendance_ids == sorted(set(attendance_ids))
    assert not {d["id"] for d in dataset.deleted_events} & set(event_ids)
    assert set(dataset.private_deleted_event_ids) <= {d["id"] for d in dataset.deleted_events}


def test_referential_integrity_and_consistent_copies(dataset: Dataset) -> None:
    people = {p["id"]: p for p in dataset.people}
    events = {e["id"]: e for e in dataset.events}
    for attendance in dataset.attendances:
        person = attendance["person"]
        assert person == people[person["id"]]
        assert attendance["sponsor"] == dataset.organization
        if attendance["id"] is None:
            continue
        event = events[attendance["event"]["id"]]
        assert attendance["event"] == {**event, "timeslots": None}
        assert attendance["timeslot"] in event["timeslots"]
        assert attendance["created_date"] >= max(event["created_date"], person["created_date"])


def test_masked_attendances(dataset: Dataset) -> None:
    masked = [a for a in dataset.attendances if a["id"] is None]
    assert len(masked) == 30
    for attendance in masked:
        assert attendance["status"] is None
        assert attendance["attended"] is None
        assert attendance["timeslot"]["id"] is None
        event = attendance["event"]
        for key in ("id", "title", "sponsor", "created_date", "browser_url"):
            assert event[key] is None
        for key in ("event_type", "timezone", "is_virtual", "visibility", "approval_status"):
            assert event[key] is not None
        assert attendance["person"]["id"] is not None


def test_dates(dataset: Dataset) -> None:
    dated = [
        *dataset.organizations,
        *dataset.events,
        *dataset.people,
        *dataset.attendances,
    ]
    for record in dated:
        assert isinstance(record["created_date"], int)
        assert record["created_date"] <= record["modified_date"] < GENERATED_AT
    for deleted in dataset.deleted_events:
        assert deleted["deleted_date"] < GENERATED_AT
    starts = [t["start_date"] for e in dataset.events for t in e["timeslots"]]
    assert min(starts) >= TIMESLOTS_FROM
    assert max(starts) <= TIMESLOTS_TO + 60 * 86400
    assert min(starts) < GENERATED_AT < max(starts)  # past and future timeslots
    for event in dataset.events:
        for slot in event["timeslots"]:
            assert slot["end_date"] > slot["start_date"]


def test_event_variety(dataset: Dataset) -> None:
    events = dataset.events
    n = len(events)
    own = dataset.organization["id"]
    assert sum(e["visibility"] == "PRIVATE" for e in events) == n // 10
    statuses = Counter(e["approval_status"] for e in events)
    assert n - statuses["APPROVED"] == n // 20
    assert len(statuses) >= 3
    virtual = [e for e in events if e["is_virtual"]]
    assert len(virtual) == n // 5
    assert any(e["location"] is None for e in virtual)
    assert any(e["location"] is not None for e in virtual)
    private_address = [e for e in events if e["address_visibility"] == "PRIVATE"]
    assert len(private_address) == n // 20
    for event in private_address:
        location = event["location"]
        assert location["venue"] == PRIVATE_ADDRESS_PLACEHOLDER
        assert location["address_lines"][0] == PRIVATE_ADDRESS_PLACEHOLDER
        assert "location" not in location
    promoted = [e for e in events if e["sponsor"]["id"] != own]
    assert len(promoted) == n // 10
    promoters = set(dataset.promoted_organization_ids)
    for event in promoted:
        assert event["sponsor"]["id"] in promoters
        assert event["contact"] is None
        assert event["instructions"] is None
        assert event["event_campaign"] is None
        assert all(t["instructions"] is None for t in event["timeslots"])
        assert event["browser_url"].startswith(
            f"https://www.mobilize.us/{event['sponsor']['slug']}/"
        )
    owned = [e for e in events if e["sponsor"]["id"] == own]
    assert all(
        set(e["contact"]) == {"name", "email_address", "phone_number", "owner_user_id"}
        for e in owned
    )
    assert any(e["event_campaign"] for e in owned)
    types = Counter(e["event_type"] for e in events)
    assert len(types) >= 15
    assert sum(types[t] for t in COMMON_EVENT_TYPES) >= 0.9 * n
    assert any(t["is_full"] for e in events for t in e["timeslots"])
    assert {e["timezone"] for e in events} <= set(US_TIMEZONES)
    for event in events:
        assert event["browser_url"] == (
            f"https://www.mobilize.us/{event['sponsor']['slug']}/event/{event['id']}/"
        )
        assert event["description"].startswith("<p>")


def test_people_and_attendance_variety(dataset: Dataset) -> None:
    assert sum(not p["email_addresses"] for p in dataset.people) == 20
    real = [a for a in dataset.attendances if a["id"] is not None]
    statuses = Counter(a["status"] for a in real)
    assert 0.7 < statuses["REGISTERED"] / len(real) < 0.9
    assert statuses["CONFIRMED"] > 0
    assert statuses["CANCELLED"] > 0
    assert {a["attended"] for a in real} == {True, False, None}
    for attendance in real:
        if attendance["timeslot"]["end_date"] >= GENERATED_AT:
            assert attendance["attended"] is None
    assert any(a["custom_signup_field_values"] for a in real)
    assert any(a["rating"] for a in real)
    assert any(a["referrer"] and a["referrer"]["utm_source"] for a in real)
    for attendance in real:
        for value in attendance["custom_signup_field_values"] or ():
            assert (value["text_value"] is None) != (value["boolean_value"] is None)


@pytest.mark.parametrize("compact", [False, True])
def test_json_round_trip(dataset: Dataset, compact: bool) -> None:
    text = dataset.to_json(compact=compact)
    assert Dataset.from_json(text).to_dict() == json.loads(dataset.to_json())


def test_compact_is_smaller(dataset: Dataset) -> None:
    assert len(dataset.to_json(compact=True)) * 3 < len(dataset.to_json())


def test_cli_writes_and_prints_counts(tmp_path, capsys) -> None:
    out = tmp_path / "data.json"
    cli.main(
        [
            "--seed",
            "2",
            "--events",
            "20",
            "--people",
            "30",
            "--attendances",
            "40",
            "--out",
            str(out),
        ]
    )
    counts = json.loads(capsys.readouterr().out)
    assert counts["events"] == 20
    assert counts["attendances"] == 40
    loaded = Dataset.from_json(out.read_text())
    assert loaded.expected_counts() == counts
    assert (
        loaded.to_json()
        == generate(DatasetSpec(seed=2, events=20, people=30, attendances=40)).to_json()
    )


def test_people_emails_and_phones_are_unique(dataset: Dataset) -> None:
    emails = [e["address"] for p in dataset.people for e in p["email_addresses"]]
    phones = [n["number"] for p in dataset.people for n in p["phone_numbers"]]
    assert len(emails) == len(set(emails))
    assert len(phones) == len(set(phones))
    assert all(len(number) == 10 and number.isdigit() for number in phones)
