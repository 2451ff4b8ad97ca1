"""The Mobilize API simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import GENERATED_AT, Dataset, DatasetSpec
from sandbox.mobilize.answers import HARSH_ANSWERS, LENIENT_ANSWERS, MobilizeAnswers
from sandbox.mobilize.app import MobilizeApp
from sandbox.mobilize.auth import DEFAULT_API_KEY
from sandbox.mobilize.cli import main
from sandbox.server.http_server import SandboxServer, make_server
from sandbox.server.switches import Switches

SPEC = DatasetSpec(seed=11, events=120, timeslots_per_event=3, people=300, attendances=700)
KEY = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
ALL_EVENTS = {
    "visibility": ["PUBLIC", "PRIVATE"],
    "approval_status": ["APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION"],
}


class Sim:
    def __init__(self, server: SandboxServer, app: MobilizeApp, dataset: Dataset) -> None:
        self.server, self.app, self.dataset = server, app, dataset
        self.url = server.url
        self.http = requests.Session()

    def get(
        self, path: str, params: Any = None, key: bool = True, **kwargs: Any
    ) -> requests.Response:
        headers = dict(KEY) if key else {}
        headers.update(kwargs.pop("headers", {}))
        return self.http.get(
            f"{self.url}{path}", params=params, headers=headers, timeout=10, **kwargs
        )

    def ok(self, path: str, params: Any = None, key: bool = True) -> dict[str, Any]:
        response = self.get(path, params, key)
        assert response.status_code == 200, response.text
        return response.json()

    def all_pages(self, path: str, params: Any = None, key: bool = True) -> tuple[list[Any], int]:
        """Follow ``next`` verbatim; returns the rows and the number of requests."""
        body = self.ok(path, params, key)
        rows, requests_made = list(body["data"]), 1
        while body["next"]:
            response = self.http.get(body["next"], headers=KEY if key else {}, timeout=10)
            assert response.status_code == 200, response.text
            body = response.json()
            rows += body["data"]
            requests_made += 1
        return rows, requests_made

    def mutate(self, **op: Any) -> dict[str, Any]:
        response = self.http.post(f"{self.url}/__admin/mutate", json=op, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def switches(self, **changes: Any) -> None:
        response = self.http.post(f"{self.url}/__admin/switches", json=changes, timeout=10)
        assert response.status_code == 200, response.text

    def answers(self, **changes: Any) -> dict[str, Any]:
        """Set answers at run time (the way tests state the answer they rely on)."""
        response = self.http.post(f"{self.url}/__admin/answers", json=changes, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def admin_json(self, path: str) -> Any:
        response = self.http.get(f"{self.url}/__admin/{path}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def _start(spec: DatasetSpec, **kwargs: Any) -> Iterator[Sim]:
    dataset = generate(spec)
    app = MobilizeApp(dataset, **kwargs)
    server = make_server(app, switches=Switches()).start_in_thread()
    try:
        yield Sim(server, app, dataset)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    """Shared, never mutated."""
    yield from _start(SPEC)


@pytest.fixture
def fresh() -> Iterator[Sim]:
    """A server of its own, for tests that mutate or flip switches."""
    yield from _start(DatasetSpec(seed=12, events=40, people=60, attendances=150))


# -- envelope and paging -------------------------------------------------------------------


def test_envelope_and_default_page_size(sim: Sim) -> None:
    body = sim.ok("/v1/organizations/1/events", key=False)
    assert set(body) >= {"data", "count", "next", "previous", "metadata"}
    assert body["metadata"]["url_name"] == "public_organization_events"
    assert set(body["metadata"]) == {"url_name", "build_commit", "page_title"}
    assert len(body["data"]) == 25
    public = [
        e
        for e in sim.dataset.events
        if e["visibility"] == "PUBLIC" and e["approval_status"] == "APPROVED"
    ]
    assert body["count"] == len(public)
    assert body["previous"] is None
    assert body["next"].startswith(f"{sim.url}/v1/organizations/1/events?")
    ids = [e["id"] for e in body["data"]]
    assert ids == sorted(ids)


def test_next_echoes_every_param_and_pages_cover_everything(sim: Sim) -> None:
    params = [
        ("visibility", "PUBLIC"),
        ("visibility", "PRIVATE"),
        ("approval_status", "APPROVED"),
        ("approval_status", "NEEDS_APPROVAL"),
        ("approval_status", "REJECTED"),
        ("approval_status", "NEEDS_HOST_VERIFICATION"),
        ("per_page", "7"),
        ("amp", ""),
    ]
    body = sim.ok("/v1/organizations/1/events", params)
    next_url = urlsplit(body["next"])
    echoed = parse_qsl(next_url.query, keep_blank_values=True)
    assert [p for p in echoed if p[0] != "cursor"] == params
    assert [k for k, _ in echoed].count("cursor") == 1
    assert next_url.scheme == "http"
    assert next_url.netloc == urlsplit(sim.url).netloc

    rows, made = sim.all_pages("/v1/organizations/1/events", params)
    ids = [e["id"] for e in rows]
    assert ids == sorted({e["id"] for e in sim.dataset.events})
    assert made == -(-len(sim.dataset.events) // 7)


def test_previous_link_goes_back(sim: Sim) -> None:
    first = sim.ok("/v1/organizations/1/people", {"per_page": 10})
    second = sim.http.get(first["next"], headers=KEY, timeout=10).json()
    back = sim.http.get(second["previous"], headers=KEY, timeout=10).json()
    assert back["data"] == first["data"]
    assert back["previous"] is None


def test_cursor_is_opaque_base64(sim: Sim) -> None:
    body = sim.ok("/v1/organizations/1/people", {"per_page": 10})
    cursor = dict(parse_qsl(urlsplit(body["next"]).query))["cursor"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded == f"a={body['data'][-1]['id']}"
    bad = sim.get("/v1/organizations/1/people", {"cursor": "garbage!"})
    assert bad.status_code == 404
    assert bad.json() == {"data": None, "error": {"detail": "Invalid cursor"}}


def test_page_parameter(sim: Sim) -> None:
    everything = sim.ok("/v1/organizations/1/people", {"per_page": 1000})["data"]
    page3 = sim.ok("/v1/organizations/1/people", {"per_page": 20, "page": 3})
    assert page3["data"] == everything[40:60]
    assert "page" not in dict(parse_qsl(urlsplit(page3["next"]).query))
    assert sim.get("/v1/organizations/1/people", {"page": 999}).status_code == 404


def test_doubled_params_are_rejected(sim: Sim) -> None:
    first = sim.ok("/v1/organizations/1/attendances", {"per_page": 50, "updated_since": 0})
    # What a client that re-adds its parameters to the next URL sends.
    again = sim.http.get(
        first["next"], params={"per_page": 50, "updated_since": 0}, headers=KEY, timeout=10
    )
    assert again.status_code == 400
    assert again.json()["data"] is None
    assert "per_page" in again.json()["error"]
    doubled = sim.get("/v1/organizations/1/people", [("per_page", "100"), ("per_page", "100")])
    assert doubled.status_code == 400
    cursor = dict(parse_qsl(urlsplit(first["next"]).query))["cursor"]
    two_cursors = sim.get(
        "/v1/organizations/1/attendances", [("cursor", cursor), ("cursor", cursor)]
    )
    assert two_cursors.status_code == 400
    same_pair = sim.get(
        "/v1/organizations/1/events", [("visibility", "PUBLIC"), ("visibility", "PUBLIC")]
    )
    assert same_pair.status_code == 400


def test_per_page_validation_and_clamp(sim: Sim) -> None:
    bad = sim.get("/v1/organizations/1/people", {"per_page": "lots"})
    assert bad.status_code == 400
    assert bad.json() == {"data": None, "error": {"per_page": ["A valid integer is required."]}}
    assert sim.get("/v1/organizations/1/people", {"per_page": 0}).status_code == 400
    body = sim.ok("/v1/organizations/1/people", {"per_page": 100000})
    assert len(body["data"]) == len(sim.dataset.people) == body["count"]
    assert body["next"] is None


def test_max_per_page_flag() -> None:
    for small in _start(DatasetSpec(seed=1, events=5, people=30, attendances=5), max_per_page=10):
        body = small.ok("/v1/organizations/1/people", {"per_page": 500})
        assert len(body["data"]) == 10
        assert body["count"] == 30


def test_bad_integer_in_repeated_param_is_drf_style(sim: Sim) -> None:
    response = sim.get("/v1/events", {"organization_id": "hello"})
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "error": {"organization_id": {"0": ["A valid integer is required."]}},
    }


# -- filters -------------------------------------------------------------------------------


def test_updated_since_must_be_an_integer(sim: Sim) -> None:
    assert sim.get("/v1/organizations/1/people", {"updated_since": "yesterday"}).status_code == 400


def test_visibility_and_approval_defaults(sim: Sim) -> None:
    events = sim.dataset.events
    keyed_default, _ = sim.all_pages("/v1/organizations/1/events", {"per_page": 100})
    assert {e["id"] for e in keyed_default} == {
        e["id"]
        for e in events
        if e["visibility"] == "PUBLIC" and e["approval_status"] == "APPROVED"
    }
    everything, _ = sim.all_pages("/v1/organizations/1/events", {**ALL_EVENTS, "per_page": 100})
    assert len(everything) == sim.dataset.expected_counts()["events"]
    assert (
        sum(len(e["timeslots"]) for e in everything) == sim.dataset.expected_counts()["timeslots"]
    )

    private = sim.get("/v1/organizations/1/events", {"visibility": "PRIVATE"}, key=False)
    assert private.status_code == 403
    assert private.json()["data"] is None
    unapproved = sim.get("/v1/organizations/1/events", {"approval_status": "REJECTED"}, key=False)
    assert unapproved.status_code == 403
    invalid = sim.get("/v1/organizations/1/events", {"visibility": "SECRET"})
    assert invalid.status_code == 400


def test_anonymous_reads_hide_privileged_fields(sim: Sim) -> None:
    anonymous, _ = sim.all_pages("/v1/organizations/1/events", {"per_page": 100}, key=False)
    keyed = {e["id"]: e for e in sim.all_pages("/v1/organizations/1/events", {"per_page": 100})[0]}
    assert anonymous
    for event in anonymous:
        assert event["contact"] is None
        assert event["event_campaign"] is None
        assert event["instructions"] is None
        assert all(t["instructions"] is None for t in event["timeslots"])
        if event["address_visibility"] == "PRIVATE":
            assert event["location"]["congressional_district"] is None
    assert any(e["contact"] for e in keyed.values())
    assert any(e["event_campaign"] for e in keyed.values())


def test_auth_errors(sim: Sim) -> None:
    for path in (
        "/v1/organizations/1/people",
        "/v1/organizations/1/attendances",
        "/v1/organizations/1/promoted_organizations",
        f"/v1/organizations/1/events/{sim.dataset.events[0]['id']}/attendances",
    ):
        missing = sim.get(path, key=False)
        assert missing.status_code == 403, path
        assert missing.json()["data"] is None
        wrong = sim.get(path, key=False, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403, path
    # A wrong key fails the optional-auth routes too; no key at all is anonymous.
    wrong = sim.get(
        "/v1/organizations/1/events", key=False, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403
    malformed = sim.get(
        "/v1/organizations/1/events", key=False, headers={"Authorization": DEFAULT_API_KEY}
    )
    assert malformed.status_code == 403
    # The key grants permission for its own organization only.
    other = sim.dataset.organizations[1]["id"]
    assert sim.get(f"/v1/organizations/{other}/people").status_code == 403
    assert sim.get("/v1/organizations/999999/events").status_code == 404
    assert sim.get("/v1/organizations/999999/people").status_code == 404
    assert sim.get("/v1/nothing").status_code == 404


def test_timeslot_filters_trim_nested_timeslots(sim: Sim) -> None:
    cutoff = GENERATED_AT
    rows, _ = sim.all_pages(
        "/v1/organizations/1/events",
        [
            *[(k, v) for k, vs in ALL_EVENTS.items() for v in vs],
            ("timeslot_start", f"gte_{cutoff}"),
            ("per_page", "100"),
        ],
    )
    expected = {
        e["id"]: [t["id"] for t in e["timeslots"] if t["start_date"] >= cutoff]
        for e in sim.dataset.events
    }
    expected = {k: v for k, v in expected.items() if v}
    assert {e["id"]: [t["id"] for t in e["timeslots"]] for e in rows} == expected
    assert len(expected) < len(sim.dataset.events)
    assert any(len(v) < len(sim.app.state.events[k]["timeslots"]) for k, v in expected.items())
    # A range: repeated comparisons; "now" works too.
    ranged = sim.ok(
        "/v1/organizations/1/events",
        [("timeslot_start", f"gte_{cutoff}"), ("timeslot_start", f"lt_{cutoff + 86400 * 30}")],
    )
    for event in ranged["data"]:
        assert all(cutoff <= t["start_date"] < cutoff + 86400 * 30 for t in event["timeslots"])
    assert sim.get("/v1/organizations/1/events", {"timeslot_end": "lt_now"}).status_code == 200
    assert sim.get("/v1/organizations/1/events", {"timeslot_end": "before_now"}).status_code == 400


def test_other_event_filters(sim: Sim) -> None:
    own = sim.dataset.organization["id"]
    owned, _ = sim.all_pages(
        "/v1/organizations/1/events", {"organization_id": own, "per_page": 100}
    )
    assert owned
    assert all(e["sponsor"]["id"] == own for e in owned)
    virtual = sim.ok("/v1/organizations/1/events", {"is_virtual": "true", "per_page": 100})["data"]
    assert virtual
    assert all(e["is_virtual"] for e in virtual)
    canvasses = sim.ok(
        "/v1/organizations/1/events", [("event_types", "CANVASS"), ("event_types", "PHONE_BANK")]
    )
    assert {e["event_type"] for e in canvasses["data"]} <= {"CANVASS", "PHONE_BANK"}
    assert sim.get("/v1/organizations/1/events", {"is_virtual": "maybe"}).status_code == 400


def test_search_params_cap_results() -> None:
    big = DatasetSpec(seed=3, events=1300, timeslots_per_event=1, people=5, attendances=5)
    for server in _start(big):
        body = server.ok("/v1/organizations/1/events", {"exclude_full": "false", "per_page": 1000})
        assert body["results_limited_to"] == 1000
        assert body["count"] > 1000
        assert len(body["data"]) == 1000
        assert body["next"] is None
        plain = server.ok("/v1/organizations/1/events", {"per_page": 1000})
        assert "results_limited_to" not in plain
        assert plain["next"] is not None
        near = server.ok(
            "/v1/organizations/1/events", {"zipcode": "19103", "max_dist": 50, "per_page": 50}
        )
        assert near["results_limited_to"] == 1000
        assert near["data"]
        assert all(e["location"]["locality"] == "Philadelphia" for e in near["data"])
        rows, _ = server.all_pages("/v1/organizations/1/events", {"tag_id": 9001, "per_page": 100})
        assert rows
        assert all(any(t["id"] == 9001 for t in e["tags"]) for e in rows)


def test_single_objects_and_scoping(sim: Sim) -> None:
    own = sim.dataset.organization["id"]
    event = next(e for e in sim.dataset.events if e["visibility"] == "PRIVATE")
    body = sim.ok(f"/v1/organizations/1/events/{event['id']}")
    assert body["data"]["id"] == event["id"]
    assert sim.get(f"/v1/organizations/1/events/{event['id']}", key=False).status_code == 404
    assert sim.get(f"/v1/events/{event['id']}").status_code == 404
    assert sim.get("/v1/organizations/1/events/1").status_code == 404
    promoted = next(e for e in sim.dataset.events if e["sponsor"]["id"] != own)
    assert sim.ok(f"/v1/organizations/1/events/{promoted['id']}")["data"]["sponsor"]["id"] != own
    sponsor_feed = sim.ok(f"/v1/organizations/{promoted['sponsor']['id']}/events")
    assert all(e["sponsor"]["id"] == promoted["sponsor"]["id"] for e in sponsor_feed["data"])
    owned_public = next(
        e
        for e in sim.dataset.events
        if e["sponsor"]["id"] == own
        and e["visibility"] == "PUBLIC"
        and e["approval_status"] == "APPROVED"
    )
    assert (
        sim.get(
            f"/v1/organizations/{promoted['sponsor']['id']}/events/{owned_public['id']}"
        ).status_code
        == 404
    )
    attendance = next(a for a in sim.dataset.attendances if a["id"] is not None)
    assert (
        sim.ok(f"/v1/organizations/1/attendances/{attendance['id']}")["data"]["id"]
        == attendance["id"]
    )
    assert sim.get("/v1/organizations/1/attendances/1").status_code == 404
    per_event, _ = sim.all_pages(
        f"/v1/organizations/1/events/{attendance['event']['id']}/attendances"
    )
    assert {a["id"] for a in per_event} == {
        a["id"]
        for a in sim.dataset.attendances
        if a["id"] is not None and a["event"]["id"] == attendance["event"]["id"]
    }


def test_keyed_sync_matches_expected_counts(sim: Sim) -> None:
    counts = sim.dataset.expected_counts()
    people, _ = sim.all_pages("/v1/organizations/1/people", {"per_page": 100})
    attendances, _ = sim.all_pages("/v1/organizations/1/attendances", {"per_page": 100})
    deleted, _ = sim.all_pages("/v1/organizations/1/events/deleted")
    orgs, _ = sim.all_pages("/v1/organizations", key=False)
    promoted = sim.ok("/v1/organizations/1/promoted_organizations")["data"]
    assert len(people) == counts["people"]
    assert sum(a["id"] is not None for a in attendances) == counts["attendances"]
    assert sum(a["id"] is None for a in attendances) == counts["masked_attendances"]
    assert len(deleted) == counts["deleted_events"]
    assert {o["id"] for o in orgs} == {o["id"] for o in sim.dataset.organizations}
    assert {o["id"] for o in promoted} == set(sim.dataset.promoted_organization_ids)
    assert attendances == sim.dataset.attendances


def test_small_pages_keep_masked_rows_in_place() -> None:
    spec = DatasetSpec(seed=21, events=10, timeslots_per_event=2, people=20, attendances=300)
    for small in _start(spec):
        rows, made = small.all_pages("/v1/organizations/1/attendances", {"per_page": 2})
        assert rows == small.dataset.attendances
        assert made == -(-len(rows) // 2)
        assert sum(a["id"] is None for a in rows) == 3


def test_deleted_events_hide_private_without_key(fresh: Sim) -> None:
    fresh.answers(updated_since="inclusive")  # the since query below is the deleted_date itself
    private = next(e for e in fresh.dataset.events if e["visibility"] == "PRIVATE")
    deleted = fresh.mutate(op="delete_event", id=private["id"])
    assert deleted["deleted_date"] >= GENERATED_AT
    keyed = fresh.ok("/v1/organizations/1/events/deleted")["data"]
    assert private["id"] in {d["id"] for d in keyed}
    anonymous = fresh.ok("/v1/organizations/1/events/deleted", key=False)["data"]
    assert private["id"] not in {d["id"] for d in anonymous}
    quietly = fresh.ok("/v1/organizations/1/events/deleted", {"visibility": "PRIVATE"}, key=False)
    assert quietly["data"] == []
    since = fresh.ok(
        "/v1/organizations/1/events/deleted", {"updated_since": deleted["deleted_date"]}
    )
    assert [d["id"] for d in since["data"]] == [private["id"]]
    assert all(set(d) == {"id", "deleted_date"} for d in keyed)
    events, _ = fresh.all_pages("/v1/organizations/1/events", ALL_EVENTS)
    assert private["id"] not in {e["id"] for e in events}


def test_deprecated_events_route(sim: Sim) -> None:
    body = sim.ok("/v1/events", key=False)
    assert body["metadata"]["url_name"] == "public_events"
    assert all(e["visibility"] == "PUBLIC" for e in body["data"])
    own = sim.dataset.organization["id"]
    owned = sim.ok("/v1/events", {"organization_id": own, "per_page": 100})["data"]
    assert all(e["sponsor"]["id"] == own for e in owned)
    public = next(
        e
        for e in sim.dataset.events
        if e["visibility"] == "PUBLIC" and e["approval_status"] == "APPROVED"
    )
    assert sim.ok(f"/v1/events/{public['id']}", key=False)["data"]["contact"] is None


def test_enums(sim: Sim) -> None:
    data = sim.ok("/v1/enums", key=False)["data"]
    assert {
        "event_type",
        "visibility",
        "approval_status",
        "timezone",
        "accessibility_status",
    } <= set(data)
    assert "CANVASS" in data["event_type"]


# -- switches, stats, admin ----------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(fresh: Sim) -> None:
    fresh.switches(rate_limit=5, retry_after=2)
    statuses = [fresh.get("/v1/enums").status_code for _ in range(12)]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses
    limited = fresh.get("/v1/enums")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert limited.json()["data"] is None
    time.sleep(1.05)
    assert fresh.get("/v1/enums").status_code == 200


def test_cli_defaults_to_15_requests_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_make_server(app: MobilizeApp, host: str, port: int, switches: Switches) -> Any:
        seen["switches"], seen["app"] = switches, app
        raise SystemExit(0)

    monkeypatch.setattr("sandbox.server.cli.make_server", fake_make_server)
    with pytest.raises(SystemExit):
        main(
            [
                "--port",
                "0",
                "--events",
                "3",
                "--people",
                "3",
                "--attendances",
                "3",
                "--api-key",
                "k",
            ]
        )
    assert seen["switches"].rate_limit == 15
    assert seen["app"].api_key == "k"


def test_stats_group_by_route_template(fresh: Sim) -> None:
    fresh.http.post(f"{fresh.url}/__admin/stats/reset", timeout=10)
    fresh.get("/v1/organizations/1/events")
    fresh.get(f"/v1/organizations/1/events/{fresh.dataset.events[0]['id']}")
    stats = fresh.http.get(f"{fresh.url}/__admin/stats", timeout=10).json()
    assert stats["by_route"]["GET /v1/organizations/{org}/events"] == 1
    assert stats["by_route"]["GET /v1/organizations/{org}/events/{id}"] == 1


def test_admin_dataset_and_counts(fresh: Sim) -> None:
    data = fresh.http.get(f"{fresh.url}/__admin/dataset", timeout=10).json()
    assert Dataset.from_dict(data).expected_counts() == fresh.dataset.expected_counts()
    compact = fresh.http.get(f"{fresh.url}/__admin/dataset?compact=1", timeout=10).json()
    assert Dataset.from_dict(compact).to_dict() == data
    counts = fresh.http.get(f"{fresh.url}/__admin/counts", timeout=10).json()
    assert counts == fresh.dataset.expected_counts()


def test_admin_load_regenerates(fresh: Sim) -> None:
    response = fresh.http.post(
        f"{fresh.url}/__admin/load",
        json={"spec": {"seed": 5, "events": 7, "people": 9, "attendances": 11}},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["events"] == 7
    assert fresh.ok("/v1/organizations/1/people")["count"] == 9


def test_admin_load_takes_a_masked_timeslot(fresh: Sim) -> None:
    """A loaded dataset may hold a timeslot whose id Mobilize nulled (firewall masking)."""
    data = fresh.admin_json("dataset")
    event = data["events"][0]
    masked = {"id": None, "start_date": GENERATED_AT, "end_date": GENERATED_AT + 3600}
    event["timeslots"] = [*event["timeslots"], {**masked, "is_full": False, "instructions": None}]
    response = fresh.http.post(f"{fresh.url}/__admin/load", json={"dataset": data}, timeout=10)
    assert response.status_code == 200, response.text
    served = fresh.ok(f"/v1/organizations/1/events/{event['id']}", ALL_EVENTS)["data"]
    assert [s["id"] for s in served["timeslots"]][-1] is None
    highest = max(s["id"] for e in data["events"] for s in e["timeslots"] if s["id"] is not None)
    added = fresh.mutate(
        op="add_timeslot", event_id=event["id"], start_date=GENERATED_AT, end_date=GENERATED_AT + 1
    )
    assert added["timeslots"][-1]["id"] == highest + 1


# -- mutations -----------------------------------------------------------------------------


def test_attendance_mutations_bump_modified_date(fresh: Sim) -> None:
    fresh.answers(updated_since="inclusive")  # a status change bumps under every answer
    horizon = max(a["modified_date"] for a in fresh.dataset.attendances) + 1
    assert fresh.ok("/v1/organizations/1/attendances", {"updated_since": horizon})["count"] == 0
    event = next(
        e for e in fresh.dataset.events if e["sponsor"]["id"] == fresh.dataset.organization["id"]
    )
    person = fresh.dataset.people[0]
    added = fresh.mutate(
        op="add_attendance",
        person_id=person["id"],
        event_id=event["id"],
        timeslot_id=event["timeslots"][0]["id"],
    )
    assert added["status"] == "REGISTERED"
    assert added["attended"] is None
    assert added["modified_date"] >= horizon
    assert added["event"]["timeslots"] is None
    old = next(
        a for a in fresh.dataset.attendances if a["id"] is not None and a["id"] != added["id"]
    )
    before = old["modified_date"]
    updated = fresh.mutate(op="update_attendance", id=old["id"], status="CANCELLED", attended=False)
    assert updated["modified_date"] > before
    assert updated["status"] == "CANCELLED"
    changed = fresh.ok("/v1/organizations/1/attendances", {"updated_since": horizon})["data"]
    assert {a["id"] for a in changed} == {added["id"], old["id"]}
    listed, _ = fresh.all_pages("/v1/organizations/1/attendances", {"per_page": 100})
    assert listed[-1]["id"] == added["id"]  # new ids sort last


def test_event_mutations_bump_and_keep_copies_consistent(fresh: Sim) -> None:
    fresh.answers(updated_since="inclusive", timeslot_edits_bump_event=True)
    event = next(a for a in fresh.dataset.attendances if a["id"] is not None)["event"]
    event_id = event["id"]
    horizon = GENERATED_AT
    updated = fresh.mutate(op="update_event", id=event_id, fields={"title": "Renamed"})
    assert updated["title"] == "Renamed"
    assert updated["modified_date"] >= horizon
    attendances = fresh.ok(f"/v1/organizations/1/events/{event_id}/attendances")["data"]
    assert attendances
    assert all(a["event"]["title"] == "Renamed" for a in attendances)
    assert all(a["event"]["modified_date"] == updated["modified_date"] for a in attendances)

    with_slot = fresh.mutate(
        op="add_timeslot", event_id=event_id, start_date=1800000000, end_date=1800003600
    )
    assert with_slot["modified_date"] > updated["modified_date"]
    new_slot = with_slot["timeslots"][-1]
    assert new_slot["start_date"] == 1800000000
    removed = fresh.mutate(op="remove_timeslot", event_id=event_id, timeslot_id=new_slot["id"])
    assert new_slot["id"] not in {t["id"] for t in removed["timeslots"]}
    changed = fresh.ok("/v1/organizations/1/events", {**ALL_EVENTS, "updated_since": horizon})[
        "data"
    ]
    assert [e["id"] for e in changed] == [event_id]


def test_person_mutations(fresh: Sim) -> None:
    fresh.answers(updated_since="inclusive")
    added = fresh.mutate(
        op="add_person", given_name="Ada", family_name="Lovelace", email="ada@example.org"
    )
    assert added["person_id"] is None
    assert added["email_addresses"] == [{"primary": True, "address": "ada@example.org"}]
    person_id = next(a for a in fresh.dataset.attendances if a["id"] is not None)["person"]["id"]
    updated = fresh.mutate(op="update_person", id=person_id, fields={"family_name": "Renamed"})
    changed = fresh.ok("/v1/organizations/1/people", {"updated_since": GENERATED_AT})["data"]
    assert {p["id"] for p in changed} == {added["id"], person_id}
    rows, _ = fresh.all_pages("/v1/organizations/1/attendances", {"per_page": 100})
    copies = [a["person"] for a in rows if a["person"]["id"] == person_id]
    assert copies
    assert all(p == updated for p in copies)


def test_a_garbled_person_is_served_as_set_and_can_be_restored(fresh: Sim) -> None:
    person = next(p for p in fresh.dataset.people if p["id"] is not None)
    original = person["modified_date"]
    garbled = fresh.mutate(op="garble_person", id=person["id"], fields={"modified_date": "soon"})
    assert garbled["modified_date"] == "soon"
    rows, _ = fresh.all_pages("/v1/organizations/1/people", {"per_page": 100})
    assert [p["modified_date"] for p in rows if p["id"] == person["id"]] == ["soon"]
    restored = fresh.mutate(op="garble_person", id=person["id"], fields={"modified_date": original})
    assert restored["modified_date"] == original  # not bumped
    rows, _ = fresh.all_pages("/v1/organizations/1/people", {"per_page": 100})
    assert [p["modified_date"] for p in rows if p["id"] == person["id"]] == [original]


def test_bad_mutations_are_400(fresh: Sim) -> None:
    for op in (
        {"op": "explode"},
        {"op": "update_event", "id": 1, "fields": {}},
        {"op": "garble_person", "id": fresh.dataset.people[0]["id"], "fields": {"id": 9}},
        {"op": "add_attendance", "person_id": 1, "event_id": 1, "timeslot_id": 1},
        {
            "op": "update_attendance",
            "id": fresh.dataset.attendances[0]["id"],
            "status": "COMPLETED",
        },
    ):
        assert (
            fresh.http.post(f"{fresh.url}/__admin/mutate", json=op, timeout=10).status_code == 400
        )


# -- answers to the open questions (mobilize-api.md section 8) -----------------------------


def test_presets_cover_every_answer_with_two_values() -> None:
    assert set(HARSH_ANSWERS) == set(LENIENT_ANSWERS) == set(MobilizeAnswers.choices())
    assert all(HARSH_ANSWERS[name] != LENIENT_ANSWERS[name] for name in HARSH_ANSWERS)
    assert HARSH_ANSWERS == {
        "updated_since": "exclusive",
        "timeslot_edits_bump_event": False,
        "attended_bumps_attendance": False,
        "deleted_event_attendances": "listed",
        "removed_timeslot_attendances": "listed",
    }
    dataset = generate(DatasetSpec(seed=1, events=2, people=2, attendances=2))
    assert MobilizeApp(dataset).answers.as_dict() == HARSH_ANSWERS  # harsh by default
    assert MobilizeApp(dataset, answers=LENIENT_ANSWERS).answers.as_dict() == LENIENT_ANSWERS
    with pytest.raises(ValueError, match="unknown"):
        MobilizeApp(dataset, answers={"nope": True})
    with pytest.raises(ValueError, match="invalid value"):
        MobilizeApp(dataset, answers={"timeslot_edits_bump_event": 1})  # 1 is not true


def test_admin_answers_get_post_and_400s(fresh: Sim) -> None:
    url = f"{fresh.url}/__admin/answers"
    assert fresh.admin_json("answers") == HARSH_ANSWERS
    changed = fresh.answers(updated_since="inclusive")
    assert changed == {**HARSH_ANSWERS, "updated_since": "inclusive"}
    for body, fragment in (
        ({"nope": 1}, "unknown"),
        ({"updated_since": "sometimes"}, "invalid value"),
        ({"attended_bumps_attendance": "true"}, "invalid value"),  # JSON true, not a string
        # Checked as a whole: the valid change beside a bad one is not applied either.
        ({"deleted_event_attendances": "hidden", "bogus": 1}, "unknown"),
        (["updated_since"], "JSON object"),
    ):
        response = fresh.http.post(url, json=body, timeout=10)
        assert response.status_code == 400, body
        assert fragment in response.json()["message"]
    bad_json = fresh.http.post(url, data=b"{not json", timeout=10)
    assert bad_json.status_code == 400
    assert fresh.admin_json("answers") == changed


def _pivot(dates: list[int]) -> int:
    """A date that some row has exactly, so inclusive and exclusive differ."""
    return sorted(dates)[len(dates) // 2]


@pytest.mark.parametrize("mode", ["inclusive", "exclusive"])
def test_updated_since_answer_applies_to_every_filter(fresh: Sim, mode: str) -> None:
    def passes(value: int, since: int) -> bool:
        return value >= since if mode == "inclusive" else value > since

    data = fresh.dataset
    fresh.mutate(op="delete_event", id=data.events[0]["id"])  # a deleted_date to compare
    cases: list[tuple[str, list[Any], Any, str]] = [
        ("/v1/organizations", data.organizations, {}, "modified_date"),
        ("/v1/organizations/1/events", data.events, ALL_EVENTS, "modified_date"),
        ("/v1/organizations/1/people", data.people, {}, "modified_date"),
        ("/v1/organizations/1/attendances", data.attendances, {}, "modified_date"),
        ("/v1/organizations/1/events/deleted", data.deleted_events, {}, "deleted_date"),
    ]
    other = "exclusive" if mode == "inclusive" else "inclusive"
    for path, rows, params, date_field in cases:
        since = _pivot([r[date_field] for r in rows])
        query = {**params, "updated_since": since, "per_page": 100}
        fresh.answers(updated_since=other)
        fresh.all_pages(path, query)  # cached under the other answer: must not leak
        fresh.answers(updated_since=mode)
        got, _ = fresh.all_pages(path, query)
        expected = [r for r in rows if passes(r[date_field], since)]
        assert [r["id"] for r in got] == [r["id"] for r in expected], path
        assert any(r[date_field] == since for r in got) == (mode == "inclusive"), path


@pytest.mark.parametrize("bumps", [True, False])
def test_timeslot_edits_bump_event_answer(fresh: Sim, bumps: bool) -> None:
    fresh.answers(timeslot_edits_bump_event=bumps, updated_since="exclusive")
    event_id = fresh.dataset.events[0]["id"]

    def modified() -> int:
        return int(fresh.ok(f"/v1/organizations/1/events/{event_id}")["data"]["modified_date"])

    def incremental_ids(since: int) -> set[int]:
        rows, _ = fresh.all_pages(
            "/v1/organizations/1/events", {**ALL_EVENTS, "updated_since": since, "per_page": 100}
        )
        return {e["id"] for e in rows}

    added = fresh.mutate(
        op="add_timeslot", event_id=event_id, start_date=1800000000, end_date=1800003600
    )
    slot_id = added["timeslots"][-1]["id"]
    for op in (
        {
            "op": "update_timeslot",
            "event_id": event_id,
            "timeslot_id": slot_id,
            "fields": {"is_full": True},
        },
        {"op": "remove_timeslot", "event_id": event_id, "timeslot_id": slot_id},
    ):
        before = modified()
        fresh.mutate(**op)
        assert (modified() > before) == bumps, op["op"]
        assert (event_id in incremental_ids(before)) == bumps, op["op"]
    # The edits themselves are always visible on a full read.
    event = fresh.ok(f"/v1/organizations/1/events/{event_id}")["data"]
    assert slot_id not in {t["id"] for t in event["timeslots"]}
    before = modified()
    fresh.mutate(op="update_event", id=event_id, fields={"title": "Renamed"})
    assert modified() > before  # other event edits bump under every answer


@pytest.mark.parametrize("bumps", [True, False])
def test_attended_bumps_attendance_answer(fresh: Sim, bumps: bool) -> None:
    fresh.answers(attended_bumps_attendance=bumps, updated_since="exclusive")
    attendance = next(
        a for a in fresh.dataset.attendances if a["id"] is not None and a["status"] == "REGISTERED"
    )
    path = f"/v1/organizations/1/attendances/{attendance['id']}"
    before = fresh.ok(path)["data"]["modified_date"]
    marked = fresh.mutate(
        op="update_attendance", id=attendance["id"], attended=attendance["attended"] is not True
    )
    assert fresh.ok(path)["data"]["attended"] is marked["attended"]
    assert (fresh.ok(path)["data"]["modified_date"] > before) == bumps
    changed, _ = fresh.all_pages(
        "/v1/organizations/1/attendances", {"updated_since": before, "per_page": 100}
    )
    assert (attendance["id"] in {a["id"] for a in changed}) == bumps
    # A status change bumps under every answer, even when attended changes with it.
    before = fresh.ok(path)["data"]["modified_date"]
    fresh.mutate(op="update_attendance", id=attendance["id"], status="CANCELLED", attended=False)
    assert fresh.ok(path)["data"]["modified_date"] > before


def _attendance_ids(sim: Sim, path: str = "/v1/organizations/1/attendances") -> set[int]:
    rows, _ = sim.all_pages(path, {"per_page": 100})
    return {a["id"] for a in rows if a["id"] is not None}


@pytest.mark.parametrize("mode", ["listed", "hidden"])
def test_deleted_event_attendances_answer(fresh: Sim, mode: str) -> None:
    fresh.answers(deleted_event_attendances=mode)
    attendance = next(
        a
        for a in fresh.dataset.attendances
        if a["id"] is not None and a["event"]["approval_status"] == "APPROVED"
    )
    event_id = attendance["event"]["id"]
    of_event = _attendance_ids(fresh, f"/v1/organizations/1/events/{event_id}/attendances")
    counts_before = fresh.admin_json("counts")
    fresh.mutate(op="delete_event", id=event_id)

    listed = {
        a["id"]: a
        for a in fresh.all_pages("/v1/organizations/1/attendances", {"per_page": 100})[0]
        if a["id"] is not None
    }
    single = fresh.get(f"/v1/organizations/1/attendances/{attendance['id']}")
    if mode == "listed":
        assert of_event <= set(listed)
        # The embedded copy still looks live and approved.
        assert listed[attendance["id"]]["event"] == attendance["event"]
        assert single.status_code == 200
    else:
        assert not of_event & set(listed)
        assert single.status_code == 404
    counts = fresh.admin_json("counts")
    assert counts["attendances"] == len(listed)
    hidden = len(of_event) if mode == "hidden" else 0
    assert counts["attendances"] == counts_before["attendances"] - hidden


@pytest.mark.parametrize("mode", ["listed", "hidden"])
def test_removed_timeslot_attendances_answer(fresh: Sim, mode: str) -> None:
    fresh.answers(removed_timeslot_attendances=mode, deleted_event_attendances="listed")
    attendance = next(a for a in fresh.dataset.attendances if a["id"] is not None)
    event_id, slot = attendance["event"]["id"], dict(attendance["timeslot"])
    of_slot = {
        a["id"]
        for a in fresh.dataset.attendances
        if a["id"] is not None and a["timeslot"]["id"] == slot["id"]
    }
    fresh.mutate(op="remove_timeslot", event_id=event_id, timeslot_id=slot["id"])

    everywhere = _attendance_ids(fresh)
    per_event = _attendance_ids(fresh, f"/v1/organizations/1/events/{event_id}/attendances")
    single = fresh.get(f"/v1/organizations/1/attendances/{attendance['id']}")
    if mode == "listed":
        assert of_slot <= everywhere
        assert of_slot <= per_event
        assert single.json()["data"]["timeslot"] == slot  # the embedded copy is unchanged
    else:
        assert not of_slot & everywhere
        assert not of_slot & per_event
        assert single.status_code == 404
    assert fresh.admin_json("counts")["attendances"] == len(everywhere)


def _cli_app(monkeypatch: pytest.MonkeyPatch, *flags: str) -> MobilizeApp:
    seen: dict[str, Any] = {}

    def fake_make_server(app: MobilizeApp, host: str, port: int, switches: Switches) -> Any:
        seen["app"] = app
        raise SystemExit(0)

    monkeypatch.setattr("sandbox.server.cli.make_server", fake_make_server)
    size = ["--events", "3", "--people", "3", "--attendances", "3"]
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", *size, *flags])
    assert exited.value.code == 0
    return seen["app"]


def test_cli_answers_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _cli_app(monkeypatch).answers.as_dict() == HARSH_ANSWERS
    assert _cli_app(monkeypatch, "--answers", "lenient").answers.as_dict() == LENIENT_ANSWERS
    app = _cli_app(
        monkeypatch,
        "--answer",
        "updated_since=inclusive",
        "--answer",
        "timeslot_edits_bump_event=true",
    )
    assert app.answers.as_dict() == {
        **HARSH_ANSWERS,
        "updated_since": "inclusive",
        "timeslot_edits_bump_event": True,
    }
    # Applied after the preset, whatever their order on the command line.
    app = _cli_app(
        monkeypatch, "--answer", "deleted_event_attendances=listed", "--answers", "lenient"
    )
    assert app.answers.as_dict() == {**LENIENT_ANSWERS, "deleted_event_attendances": "listed"}


@pytest.mark.parametrize(
    "flags",
    [
        ["--answer", "nope=1"],
        ["--answer", "updated_since=sometimes"],
        ["--answer", "updated_since"],
        ["--answers", "medium"],
    ],
)
def test_cli_rejects_bad_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    monkeypatch.setattr("sandbox.server.cli.make_server", lambda *a, **k: pytest.fail("started"))
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--events", "3", "--people", "3", "--attendances", "3", *flags])
    assert exited.value.code == 2
    assert "answer" in capsys.readouterr().err
