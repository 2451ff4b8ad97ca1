"""Which contacts ``GET /contacts?email=..&searchByEmail=true`` returns, per the
``contact_search`` answer, in list order."""

from __future__ import annotations

from typing import Any

from sandbox.pdi.state import PdiState


def email_search(state: PdiState, mode: str, email: str) -> list[dict[str, Any]]:
    """Contacts an email search returns, per the contact_search answer, in list order."""
    if mode == "ignore_email":
        return list(state.contacts.values())
    ids = set(state.email_index.get(email, set()))
    if mode == "fuzzy":
        ids |= _resembling(state, email)
    return [state.contacts[i] for i in sorted(ids, key=state.contact_seq.__getitem__)]


def _resembling(state: PdiState, email: str) -> set[str]:
    """Contacts with an email whose local part contains the query's local part."""
    local = email.partition("@")[0]
    if not local:
        return set()
    return {
        contact_id
        for address, holders in state.email_index.items()
        if local in address.partition("@")[0]
        for contact_id in holders
    }
