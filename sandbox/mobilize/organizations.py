"""``/organizations`` (public, ``updated_since``) and an organization's
``/promoted_organizations`` (key only)."""

from __future__ import annotations

from sandbox.mobilize.auth import require_key
from sandbox.mobilize.paging import Rows, page
from sandbox.mobilize.params import Params
from sandbox.mobilize.state import MobilizeState
from sandbox.server.messages import Request, Response


def organizations(state: MobilizeState, request: Request, authed: bool) -> Response:
    since = Params(request).integer("updated_since")

    def build() -> Rows:
        rows = [o for o in state.dataset.organizations if state.since(o["modified_date"], since)]
        return [o["id"] for o in rows], rows

    rows = state.cached(("orgs", since), build)
    return page(request, rows, "public_organizations", state.max_per_page)


def promoted(state: MobilizeState, request: Request, authed: bool, org: int) -> Response:
    state.org(org)
    require_key(authed, org, state.org_id)
    rows = [state.orgs[i] for i in sorted(state.dataset.promoted_organization_ids)]
    return page(
        request, ([o["id"] for o in rows], rows), "promoted_organizations", state.max_per_page
    )
