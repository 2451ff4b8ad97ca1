"""What PDI should hold after a sync, computed from the Mobilize dataset alone.

Written independently of target-pdi's code, from the rules in the issues: one Event per
timeslot in the routed calendar, Contacts by email, one Invitation per contact and event
whose rsvpStatus/attended follow the signup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

LABELS = {"Phone Bank": "PHONE_BANK", "Canvass": "CANVASS", "Text Bank": "TEXT_BANK"}


def pdi_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def email_of(person: dict[str, Any]) -> str | None:
    for row in person.get("email_addresses") or []:
        if (row.get("address") or "").strip():
            return str(row["address"]).strip().lower()
    return None


def rsvp(status: str, attended: bool | None) -> tuple[str, bool, bool]:
    """(rsvpStatus, isConfirmed, attended) for a Mobilize signup."""
    if status == "CANCELLED":
        return "Cancelled", False, attended is True
    if attended is True:
        return "Completed", status == "CONFIRMED", True
    if attended is False:
        return "No-Show", status == "CONFIRMED", False
    return "Yes", status == "CONFIRMED", False


EventKey = tuple[str, str, str]  # (calendar name, event name, start)


def expected_state(dataset: dict[str, Any], route: Callable[[str], str | None]) -> dict[str, Any]:
    """Events, contact emails and invitations PDI should hold (by natural keys)."""
    deleted = {d["id"] for d in dataset.get("deleted_events", [])}
    events: dict[EventKey, dict[str, Any]] = {}
    by_timeslot: dict[int, EventKey] = {}
    for event in dataset["events"]:
        calendar = route(event["event_type"])
        if calendar is None:
            continue
        for slot in event.get("timeslots") or []:
            name = event["title"]
            if event["id"] in deleted:
                name = f"[Canceled] {name}"
            key = (calendar, name, pdi_time(slot["start_date"]))
            events[key] = {"website": event["browser_url"], "end": pdi_time(slot["end_date"])}
            by_timeslot[slot["id"]] = key
    people = {p["id"]: p for p in dataset["people"]}
    latest: dict[tuple[EventKey, str], dict[str, Any]] = {}
    for att in dataset["attendances"]:
        if att.get("id") is None or att["timeslot"]["id"] not in by_timeslot:
            continue
        email = email_of(people.get(att["person"]["id"], att["person"]))
        if email is None:
            continue
        key = (by_timeslot[att["timeslot"]["id"]], email)
        if key not in latest or att["modified_date"] >= latest[key]["modified_date"]:
            latest[key] = att
    invitations = {}
    for (event_key, email), att in latest.items():
        status, confirmed, attended = rsvp(att["status"], att["attended"])
        if event_key[1].startswith("[Canceled] "):
            # A canceled event cancels its signups, confirmed or not.
            status, confirmed = "Cancelled", False
        invitations[(event_key, email)] = (status, confirmed, attended)
    return {
        "events": events,
        "emails": {email for _, email in latest},
        "invitations": invitations,
    }


def actual_state(state: dict[str, Any]) -> dict[str, Any]:
    calendars = {c["id"]: c["name"] for c in state["calendars"]}
    events: dict[str, EventKey] = {
        e["id"]: (calendars[e["calendarId"]], e["name"], e["startDateTimeUtc"])
        for e in state["events"]
    }
    emails_by_contact = {
        c["id"]: str(c["emails"][0]["emailAddress"]).lower() for c in state["contacts"]
    }
    invitations = {
        (events[i["eventId"]], emails_by_contact[i["contactId"]]): (
            i["rsvpStatus"],
            bool(i.get("isConfirmed")),
            bool(i.get("attended")),
        )
        for i in state["invitations"]
    }
    return {
        "events": {
            key: {"website": e["website"], "end": e["endDateTimeUtc"]}
            for key, e in zip(events.values(), state["events"], strict=True)
        },
        "emails": set(emails_by_contact.values()),
        "invitations": invitations,
        "counts": {k: len(state[k]) for k in ("events", "contacts", "invitations")},
    }


def router(table: dict[str, str], default: str | None) -> Callable[[str], str | None]:
    return lambda event_type: table.get(event_type, default)
