"""The hand-written loader issue 10 compares the sync with: serial, stateless, no caches.

    .venv/bin/python bench/baseline.py --mobilize URL --pdi URL [--sample N]

What a Parsons-style script does: read every event and every signup from Mobilize (paged GETs
following `next`), log in to PDI, then one request after another: a location and an event per
timeslot, and per signup an email search, the contact (and its phone) when the search finds
none, and the invitation. Nothing is kept between runs, so every run sends everything again.
Two concessions make it faster than a real script, never slower: one keep-alive connection
(requests.Session), and `per_page=100` (Parsons sends none: Mobilize's default is 25).
`sample` limits the PDI writes to the first N signups (and the events they need); `plan()`
counts the requests the whole dataset would take, for the extrapolation in bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

import requests

CALENDARS = {
    "CANVASS": "Canvassing",
    "PHONE_BANK": "Phone Banks",
    "TEXT_BANK": "Text Banks",
    "MEETING": "Meetings",
    "TRAINING": "Trainings",
    "RALLY": "Rallies",
    "FUNDRAISER": "Fundraisers",
    "COMMUNITY": "Community Events",
}
RSVP = {"CANCELLED": "Cancelled", "REGISTERED": "Yes", "CONFIRMED": "Yes"}


def mobilize_rows(s: requests.Session, url: str, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = f"{url}{'&' if '?' in url else '?'}per_page=100"
    while next_url:
        r = s.get(next_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        if r.status_code == 429:  # Mobilize allows 15 GET/s: wait and ask again
            time.sleep(float(r.headers.get("Retry-After") or 1))
            continue
        r.raise_for_status()
        rows += r.json()["data"]
        next_url = r.json()["next"]
    return rows


def read_mobilize(base: str, key: str, org: int) -> tuple[list[Any], list[Any]]:
    s = requests.Session()
    # With a key, private events are listed only when asked for (approved ones are the default).
    visible = "visibility=PUBLIC&visibility=PRIVATE"
    events = mobilize_rows(s, f"{base}/organizations/{org}/events?{visible}", key)
    signups = mobilize_rows(s, f"{base}/organizations/{org}/attendances", key)
    return events, signups


def work(events: list[Any], signups: list[Any], sample: int | None) -> tuple[list[Any], list[Any]]:
    """The approved timeslots to create and the signups to load (with an email, not masked)."""
    slots = {
        t["id"]: (e, t)
        for e in events
        if e["approval_status"] == "APPROVED"
        for t in e["timeslots"] or []
    }
    todo = [
        a
        for a in signups
        if a["id"]
        and (a["timeslot"] or {}).get("id") in slots
        and any(m.get("address") for m in a["person"]["email_addresses"])
    ]
    todo = todo[:sample] if sample is not None else todo
    if sample is not None:
        slots = {a["timeslot"]["id"]: slots[a["timeslot"]["id"]] for a in todo}
    return list(slots.values()), todo


def plan(events: list[Any], signups: list[Any]) -> Counter[str]:
    """The PDI requests `load` makes for the whole dataset, by route (no HTTP)."""
    slots, todo = work(events, signups, None)
    routes: Counter[str] = Counter({"POST /sessions": 1, "GET /calendars": 1})
    routes.update({"POST /locations": len(slots), "POST /calendars/{id}/events": len(slots)})
    seen: set[str] = set()
    for a in todo:
        email = a["person"]["email_addresses"][0]["address"].strip().lower()
        routes["GET /contacts"] += 1
        if email not in seen:
            seen.add(email)
            routes["POST /contacts"] += 1
            routes["POST /contacts/{id}/phones"] += bool(a["person"]["phone_numbers"])
        routes["POST /events/{id}/invitations"] += 1
    return routes


def load(pdi: str, events: list[Any], signups: list[Any], sample: int | None) -> dict[str, Any]:
    slots, todo = work(events, signups, sample)
    s = requests.Session()
    login = {"Username": "sandbox", "Password": "sandbox-password", "ApiToken": "sandbox-token"}
    token = s.post(f"{pdi}/sessions", json=login, timeout=60).json()["AccessToken"]
    s.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, **kw: Any) -> Any:
        r = s.request(method, f"{pdi}{path}", timeout=60, **kw)
        r.raise_for_status()
        return r.json()

    calendars = {c["name"]: c["id"] for c in call("GET", "/calendars")["data"]}
    pdi_events = {}
    for event, slot in slots:
        loc = event["location"] or {}
        address = ", ".join([*(loc.get("address_lines") or []), loc.get("locality") or ""])
        location = call(
            "POST",
            "/locations",
            json={"locationName": loc.get("venue") or "Location TBD", "locationAddress": address},
        )["id"]
        calendar = calendars[CALENDARS.get(event["event_type"], "Other Events")]
        pdi_events[slot["id"]] = call(
            "POST",
            f"/calendars/{calendar}/events",
            json={
                "name": event["title"] or f"Mobilize event {event['id']}",
                "description": event["description"] or "",
                "startDateTimeUtc": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(slot["start_date"])
                ),
                "endDateTimeUtc": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(slot["end_date"])
                ),
                "locationId": location,
                "website": event["browser_url"],
                "eventCategoryId": 0,
            },
        )["id"]
    for a in todo:
        person = a["person"]
        email = person["email_addresses"][0]["address"].strip()
        found = call("GET", "/contacts", params={"email": email, "searchByEmail": "true"})
        if found["data"]:
            contact = found["data"][0]["id"]
        else:
            contact = call(
                "POST",
                "/contacts",
                json={
                    "firstName": person["given_name"],
                    "lastName": person["family_name"],
                    "emailAddress": email,
                },
            )["id"]
            for phone in person["phone_numbers"][:1]:
                call(
                    "POST",
                    f"/contacts/{contact}/phones",
                    json={
                        "phoneNumber": phone["number"],
                        "phoneType": "Mobile",
                        "isPrimary": True,
                        "extension": "",
                    },
                )
        call(
            "POST",
            f"/events/{pdi_events[a['timeslot']['id']]}/invitations",
            json={
                "contactId": contact,
                "rsvpStatus": RSVP.get(a["status"], "Yes"),
                "isConfirmed": a["status"] == "CONFIRMED",
                "attended": a["attended"] is True,
            },
        )
    return {"timeslots": len(slots), "signups": len(todo)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mobilize", required=True, help="Mobilize base URL, .../v1")
    parser.add_argument("--pdi", required=True)
    parser.add_argument("--key", default="sandbox-mobilize-key")
    parser.add_argument("--org", type=int, default=1)
    parser.add_argument("--sample", type=int)
    args = parser.parse_args()
    started = time.perf_counter()
    events, signups = read_mobilize(args.mobilize, args.key, args.org)
    read = time.perf_counter()
    done = load(args.pdi, events, signups, args.sample)
    end = time.perf_counter()
    routes = plan(events, signups)
    print(json.dumps({**done, "read_s": read - started, "load_s": end - read, "plan": routes}))


if __name__ == "__main__":
    main()
