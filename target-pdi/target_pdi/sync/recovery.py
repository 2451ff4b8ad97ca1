"""Finding what PDI already holds for objects the id map does not know.

The id map is a cache: after it is lost (or after a crash before it was saved) the sync must find
its own PDI objects again before it creates anything. PDI has no external-id field, so:

- events are recognised by their website, the Mobilize page that names the Mobilize event
  (`payloads.site_key`), and their start time, never by name alone: the events of a distributed
  program share title and start. An event without a website (Mobilize left `browser_url`
  empty) is recognised by what its payload always fixes: calendar, start, end and name
  (`payloads.unsited_identity`);
- contacts by email only, and a match counts only once the contact itself shows that email,
  whatever PDI's search matches (pdi-api.md 8.6 cannot say whether it is exact).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import PDIClient, object_id
from target_pdi.rules import payloads as P
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import PdiObject, mobilize_event_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.lru import Lru

LOGGER = logging.getLogger("target-pdi")
DAY = 86400
# PDI lists events by date; these bound a read of "every event" (dates of a deleted Mobilize
# event are unknown) without relying on PDI accepting a list without dates.
EVERY_DAY = ("2000-01-01", "2100-12-31")

Row = dict[str, Any]


def lower_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in row.items()}


def row_start(row: Mapping[str, Any]) -> datetime | None:
    return V.parse_pdi_datetime(lower_keys(row).get("startdatetimeutc"))


def row_is_canceled(row: Mapping[str, Any]) -> bool:
    return str(lower_keys(row).get("name") or "").startswith(P.CANCELED_PREFIX)


def row_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """A PDI event row as a PUT body: every field it has but its id and calendar (a PUT may
    replace the whole event, so nothing may be left out)."""
    return {k: v for k, v in row.items() if str(k).lower() not in ("id", "calendarid")}


class PdiEvents:
    """PDI events read for recovery, indexed by the Mobilize event their website names (or,
    without a website, by name and end: `payloads.event_identity`).

    Read in date windows, each at most once per run; rows the id map owns, or that this run
    already claimed, are never handed out again. Every event create looks here first
    (`claim_made`), so that an event made by a run that died before its id map was saved is
    taken up again, not made twice.
    """

    def __init__(self, client: PDIClient, idmap: IdMap) -> None:
        self.client = client
        self.idmap = idmap
        self._lock = threading.Lock()
        self._windows: list[tuple[str, str]] = []
        # Identity (site key, or name and end) -> PDI id -> row (original keys), of the rows
        # the id map did not own when read: owned rows are never handed out, and a run's own
        # events would otherwise make every lookup scan every event it created (quadratic on a
        # large first sync).
        self._by_identity: dict[str, dict[str, Row]] = {}
        self._claimed: set[str] = set()

    def around(self, starts: Iterable[int], margin_days: float) -> None:
        """Make sure every PDI event within margin_days of these start times is indexed."""
        # Only times PDI can hold: planning/poison.py keeps others from a batch, and one must never
        # stop every record's recovery.
        valid = [s for s in starts if s is not None and V.EARLIEST_EPOCH <= s <= V.LATEST_EPOCH]
        if not valid:
            return
        margin = int(margin_days * DAY)
        self._read(V.pdi_date(min(valid) - margin), V.pdi_date(max(valid) + margin))

    def everything(self) -> None:
        self._read(*EVERY_DAY)

    def _read(self, first: str, last: str, *, refresh: bool = False) -> None:
        with self._lock:
            if not refresh and any(lo <= first and last <= hi for lo, hi in self._windows):
                return
        # Page by page: in a no-op run, the deleted events' search reads every PDI event of
        # the organization and keeps almost none (L: 9,000 rows, +26 MiB held at once).
        rows = self.client.iter_all("/events", {"startDate": first, "endDate": last})
        indexed: list[tuple[str, str, Row]] = []
        for row in rows:
            pdi_id = object_id(row)
            identity = P.event_identity(row)
            if identity is None or not pdi_id or self.idmap.owns(PdiObject.EVENT, str(pdi_id)):
                continue
            # Without a website a row is only ever looked for live, to claim it.
            if identity.startswith(P.UNSITED) and row_is_canceled(row):
                continue
            indexed.append((identity, str(pdi_id), row))
        with self._lock:
            if not refresh:
                self._windows.append((first, last))
            for site, pdi_id, row in indexed:
                self._by_identity.setdefault(site, {})[pdi_id] = row

    def of_site(self, site: str | None) -> list[Row]:
        """Unowned, unclaimed rows whose website names this Mobilize event (or URL)."""
        if site is None:
            return []
        with self._lock:
            rows = list(self._by_identity.get(site, {}).values())
        return [row for row in rows if self._free(row)]

    def _free(self, row: Row) -> bool:
        pdi_id = str(object_id(row))
        return pdi_id not in self._claimed and not self.idmap.owns(PdiObject.EVENT, pdi_id)

    def claim(self, row: Row) -> bool:
        pdi_id = str(object_id(row))
        with self._lock:
            if pdi_id in self._claimed or self.idmap.owns(PdiObject.EVENT, pdi_id):
                return False
            self._claimed.add(pdi_id)
            return True

    def mark_created(self, pdi_id: str) -> None:
        with self._lock:
            self._claimed.add(pdi_id)

    def claim_live(
        self, site: str | None, start: int, calendar_id: str | None = None
    ) -> Row | None:
        """Claim the live row of this Mobilize event at this start (same calendar if given)."""
        want = datetime.fromtimestamp(start, tz=UTC)
        for row in self.of_site(site):
            if row_is_canceled(row) or row_start(row) != want:
                continue
            calendar = lower_keys(row).get("calendarid")
            if calendar_id is not None and calendar not in (None, "", calendar_id):
                continue
            if self.claim(row):
                return row
        return None

    def claim_made(
        self, payload: Mapping[str, Any], calendar_id: str, event_id: int | None
    ) -> Row | None:
        """Before an event is created: claim the live event PDI already holds for this payload
        in this calendar at its start (made by a run that died before its id map was saved),
        if any. Found by the payload's identity, then by the Mobilize event (``event_id``) a
        website names, then by name and end: the event may have been made from another copy of
        the record (an attendance's embeds its event, with or without `browser_url`).

        Costs no request when the window was read for this batch (`EventReclaim.missing`), as
        on a first sync; otherwise one read of the days around the start, once per run."""
        start = _start_of(payload)
        self.around([start], 1)
        identities = [
            P.event_identity(payload),
            mobilize_event_key(event_id) if event_id is not None else None,
            P.unsited_identity(payload),
        ]
        for identity in dict.fromkeys(i for i in identities if i is not None):
            row = self.claim_live(identity, start, calendar_id)
            if row is not None:
                return row
        return None

    def find_created(self, payload: Mapping[str, Any], calendar_id: str) -> Row | None:
        """After a create whose answer was lost: the event, if PDI made it after all."""
        start = _start_of(payload)
        self._read(V.pdi_date(start - DAY), V.pdi_date(start + DAY), refresh=True)
        return self.claim_live(P.event_identity(payload), start, calendar_id)


def _start_of(payload: Mapping[str, Any]) -> int:
    start = V.to_epoch(V.parse_pdi_datetime(payload.get("startDateTimeUtc")))
    if start is None:
        raise ValueError("event payload has no start")
    return start


# Contacts read kept at a time: a run's memory must not grow with the organization.
CONTACTS_KEPT = 4096


class ContactFinder:
    """Finds the PDI contact holding an email, confirmed on the contact itself."""

    PAGE = 50
    # Rows to confirm with a read each, when PDI's search rows do not show emails.
    CONFIRM_MAX = 5

    def __init__(self, client: PDIClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        # The contacts read most recently (None: PDI no longer has it).
        self._reads: Lru[str, Row | None] = Lru(CONTACTS_KEPT)
        self._warned = False

    def read(self, contact_id: str, *, fresh: bool = False) -> Row | None:
        """GET /contacts/{id} (None when PDI no longer has it); kept while recent."""
        if not fresh:
            kept, row = self._reads.lookup(contact_id)
            if kept:
                return row
        try:
            found = self.client.get(f"/contacts/{contact_id}")
        except RecordRejected as exc:
            if exc.http_status != 404:
                raise
            found = None
        row = dict(found) if isinstance(found, Mapping) else None
        self._reads.put(contact_id, row)
        return row

    def forget(self, contact_id: str) -> None:
        self._reads.pop(contact_id)

    def find(self, email: str, first: str, last: str) -> Row | None:
        params = {"email": email, "searchByEmail": "true"}
        rows, total = self.client.list_page("/contacts", params, limit=self.PAGE)
        found, settled = self._confirm(rows, email)
        if found is not None:
            return found
        if settled and (total is None or total <= len(rows)):
            return None
        # The search answered more than one page, or rows it would cost too many reads to
        # check: it does not filter by email. Narrow it by name, then confirm the email.
        self._warn_once(total)
        if not (first or last):
            return None
        narrowed = {**params, "firstName": first, "lastName": last}
        rows, _ = self.client.list_page("/contacts", narrowed, limit=self.PAGE)
        found, _ = self._confirm(rows, email)
        return found

    def _confirm(self, rows: list[Row], email: str) -> tuple[Row | None, bool]:
        """(the row holding this email, whether every row was checked)."""
        unshown: list[Row] = []
        for row in rows:
            if not object_id(row):
                continue
            emails = row_emails(row)
            if email in emails:
                return row, True
            if not emails:
                unshown.append(row)
        for row in unshown[: self.CONFIRM_MAX]:
            contact = self.read(str(object_id(row)))
            if contact is not None and email in row_emails(contact):
                return contact, True
        return None, len(unshown) <= self.CONFIRM_MAX

    def _warn_once(self, total: int | None) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        LOGGER.warning(
            "PDI's contact search answered %s contacts for one email address: it does not "
            "filter by email. Contacts are matched by name, then by the email each one holds.",
            total if total is not None else "many",
        )


def row_emails(row: Mapping[str, Any]) -> set[str]:
    """Every email a PDI contact row shows, whatever the shape (flat field or a list)."""
    out: set[str] = set()
    for key, value in lower_keys(row).items():
        if "email" not in key:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, Mapping):
                low = lower_keys(item)
                item = low.get("emailaddress") or low.get("email")
            email = PP.normalize_email(item)
            if email:
                out.add(email)
    return out
