"""Show what landed in the PDI sandbox: ``python -m sandbox.report http://127.0.0.1:8002``.

Reads the simulator's admin routes, so it sees exactly what a PDI user would see:
events per calendar, contacts, and invitations by RSVP status and attendance.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from collections import Counter
from typing import Any


def _call(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.load(answer)


def render(state: dict[str, Any]) -> str:
    calendars = {c["id"]: c["name"] for c in state["calendars"]}
    events = state["events"]
    per_calendar = Counter(calendars.get(e["calendarId"], e["calendarId"]) for e in events)
    canceled = sum(1 for e in events if str(e.get("name", "")).startswith("[Canceled] "))
    invitations = state["invitations"]
    rsvp = Counter(i.get("rsvpStatus") or "(blank)" for i in invitations)
    attended = sum(1 for i in invitations if i.get("attended") is True)
    lines = [
        f"Locations: {len(state['locations'])}",
        f"Events: {len(events)} ({canceled} canceled)",
    ]
    lines += [f"  {name:<24} {count:>6}" for name, count in sorted(per_calendar.items())]
    lines.append(f"Contacts: {len(state['contacts'])}")
    lines.append(
        f"Invitations: {len(invitations)} "
        f"(attended {attended}, not attended {len(invitations) - attended})"
    )
    lines += [f"  {status:<24} {count:>6}" for status, count in sorted(rsvp.items())]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="PDI sandbox base URL")
    parser.add_argument("--writes-only", action="store_true", help="print only the write count")
    parser.add_argument("--reset-stats", action="store_true", help="zero the request counters")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    if args.reset_stats:
        _call(f"{base}/__admin/stats/reset", "POST")
        return
    stats = _call(f"{base}/__admin/stats")
    if args.writes_only:
        print(f"PDI writes: {stats.get('writes', 0)}; PDI requests: {stats['requests']}")
        return
    print(render(_call(f"{base}/__admin/state")))
    print(f"PDI writes: {stats.get('writes', 0)}; PDI requests: {stats['requests']}")


if __name__ == "__main__":
    main()
