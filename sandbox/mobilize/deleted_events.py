"""``/events/deleted`` and an organization's: ``{id, deleted_date}`` rows.

Without ``visibility`` they list every deleted event the caller may see (PUBLIC, plus
PRIVATE with the key); PRIVATE without the key is quietly empty.
"""

from __future__ import annotations

from sandbox.mobilize.event_filters import VISIBILITIES
from sandbox.mobilize.paging import Rows, page
from sandbox.mobilize.params import Params
from sandbox.mobilize.state import MobilizeState
from sandbox.server.messages import Request, Response


def _deleted_rows(state: MobilizeState, request: Request, org: int, privileged: bool) -> Rows:
    params = Params(request)
    since = params.integer("updated_since")
    visibility = params.choices("visibility", VISIBILITIES) or list(VISIBILITIES)
    allowed = set(visibility) if privileged else set(visibility) & {"PUBLIC"}

    def build() -> Rows:
        if org != state.org_id:
            return [], []
        rows = [
            d
            for d in state.dataset.deleted_events
            if state.since(d["deleted_date"], since)
            and ("PRIVATE" if d["id"] in state.private_deleted else "PUBLIC") in allowed
        ]
        return [d["id"] for d in rows], rows

    return state.cached(("deleted", org, since, tuple(sorted(allowed))), build)


def org_deleted(state: MobilizeState, request: Request, authed: bool, org: int) -> Response:
    state.org(org)
    rows = _deleted_rows(state, request, org, authed and org == state.org_id)
    return page(request, rows, "public_organization_deleted_events", state.max_per_page)


def public_deleted(state: MobilizeState, request: Request, authed: bool) -> Response:
    rows = _deleted_rows(state, request, state.org_id, authed)
    return page(request, rows, "public_deleted_events", state.max_per_page)
