"""The organization the sandbox serves and the others around it (promoting sponsors and
unrelated organizations)."""

from __future__ import annotations

from sandbox.datagen.dataset import DAY, GENERATED_AT, Record
from sandbox.datagen.draws import Draws
from sandbox.datagen.vocabulary import ORG_NAMES


def organization(
    draws: Draws, org_id: int, name: str, slug: str, org_type: str, state: str
) -> Record:
    created, modified = draws.dates(GENERATED_AT - 6 * 365 * DAY, GENERATED_AT - 30 * DAY)
    coordinated = org_type in {"CAMPAIGN", "STATE_PARTY", "COORDINATED"}
    return {
        "id": org_id,
        "name": name,
        "slug": slug,
        "is_coordinated": coordinated,
        "is_independent": not coordinated,
        "race_type": "CONGRESSIONAL" if org_type == "CAMPAIGN" else None,
        "is_primary_campaign": False,
        "state": state,
        "district": "03" if org_type == "CAMPAIGN" else "",
        "candidate_name": "Ana Rivera" if org_type == "CAMPAIGN" else "",
        "event_feed_url": f"https://www.mobilize.us/{slug}/",
        "created_date": created,
        "modified_date": modified,
        "org_type": org_type,
        "logo_url": f"https://mobilize-uploads-prod.s3.amazonaws.com/branding/{slug}-logo.png"
        if draws.rng.random() < 0.7
        else "",
        "is_nonelectoral": org_type in {"C3", "UNION"},
    }


def organizations(draws: Draws, org_id: int) -> tuple[Record, list[Record]]:
    """The served organization and the others, ids rising from ``org_id`` with gaps."""
    own = organization(draws, org_id, "Sandbox Organizing Project", "sandboxorg", "C4", "")
    others = []
    next_org_id = org_id
    for name, slug, org_type in ORG_NAMES:
        next_org_id += draws.rng.randrange(1, 40)
        others.append(organization(draws, next_org_id, name, slug, org_type, ""))
    return own, others
