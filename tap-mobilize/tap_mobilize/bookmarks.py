"""Replication: updated_since, the bookmark's cap, repeated and masked rows, the stream's report.

:class:`IncrementalStream` reads a Mobilize list with ``updated_since`` bookmarks: it asks
from the bookmark minus a lookback, emits each row once per version, and settles the
bookmark at the end of the read, never past the moment the read started.
"""

from __future__ import annotations

import decimal
import time
import typing as t
from collections.abc import Iterable
from datetime import datetime, timezone

from singer_sdk.streams import RESTStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

_TToken = t.TypeVar("_TToken")


def to_epoch(value: object) -> int:
    """Convert a bookmark (int epoch) or a ``start_date`` (ISO 8601 string) to epoch seconds.

    The SDK hands back the raw ``start_date`` string for an integer replication key when
    there is no bookmark yet, so both shapes arrive here.
    """
    if isinstance(value, bool):
        raise TypeError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float, decimal.Decimal)):
        return int(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            return int(float(text))
        except ValueError:
            pass
        # Python 3.10's fromisoformat rejects a trailing "Z".
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    else:
        raise TypeError(f"not a timestamp: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


class IncrementalStream(RESTStream[_TToken]):
    """A Mobilize list read with ``updated_since`` bookmarks, each row emitted once a version."""

    replication_key: str | None = "modified_date"
    # Mobilize documents no sort order (ids in practice), so the bookmark may only move
    # once the whole stream has been read.
    is_sorted = False
    # Set by the paginator when a next link repeats a page: the read is incomplete.
    cursor_repeated = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.masked_count = 0
        self.duplicate_count = 0
        super().__init__(*args, **kwargs)

    def updated_since(self, context: Context | None) -> int | None:
        """``updated_since`` for the first page: bookmark - lookback, else start_date."""
        if not self.replication_key:
            return None
        value = self.get_starting_replication_key_value(context)
        if value is None:
            return None
        epoch = to_epoch(value)
        # The bound's inclusiveness is undocumented and clocks drift, so re-read a little
        # before the bookmark; dedupe and idempotent targets absorb the overlap. The
        # start_date is a user's explicit lower bound, so it is sent as given.
        if self.get_context_state(context).get("replication_key_value") is not None:
            epoch -= int(self.config.get("lookback_seconds", 300))
        epoch = max(epoch, 0)
        self.logger.info("Stream '%s': requesting rows with updated_since=%d", self.name, epoch)
        return epoch

    def now(self) -> int:
        """Wall-clock epoch seconds (a method, so tests can fix the clock)."""
        return int(time.time())

    def prior_bookmark(self, context: Context | None) -> t.Any:
        """The bookmark this run started from, or None on a first run.

        Unsorted streams keep this run's maximum in progress markers until the end, so
        this stays the incoming value for the whole read.
        """
        return self.get_context_state(context).get("replication_key_value")

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        # Taken before the first request: a row changed while the read runs may be
        # missed by it, so the bookmark must not pass this moment (see _settle_bookmark).
        read_started = self.now()
        bookmark = self.prior_bookmark(context)
        self.cursor_repeated = False
        # id -> highest replication value emitted: pages can shift while rows change,
        # so the same row may come twice; only a newer version is worth re-emitting.
        seen: dict[t.Any, t.Any] = {}
        for record in self.request_records(context):
            if self.dry_run_limit_reached(len(seen)):
                return
            if self.is_new_version(record, seen):
                yield record
        cut_short = self.cursor_repeated
        if not self.dry_run_limit_reached(len(seen)):
            yield from self.records_after_read(context, seen, bookmark)
        if cut_short:
            self._keep_prior_bookmark(context)
        else:
            self._settle_bookmark(context, read_started)
        self.report_end_of_stream()

    def records_after_read(
        self, context: Context | None, seen: dict[t.Any, t.Any], bookmark: t.Any
    ) -> Iterable[dict[str, t.Any]]:
        """Rows to emit after the incremental read (none by default).

        ``seen`` is the run's id -> replication value map, to share the dedupe;
        ``bookmark`` is the incoming bookmark (None on a first run).
        """
        return ()

    def is_new_version(self, record: dict[str, t.Any], seen: dict[t.Any, t.Any]) -> bool:
        """True if the row should be emitted; records it in ``seen``, counts what is not.

        A masked row (null id) cannot be keyed downstream; a row already emitted this run
        is emitted again only with a newer replication value.
        """
        record_id = record.get("id")
        if record_id is None:
            self.masked_count += 1
            return False
        key = self.replication_key
        version = record.get(key) if key else None
        if record_id in seen:
            previous = seen[record_id]
            if version is None or (previous is not None and version <= previous):
                self.duplicate_count += 1
                return False
        seen[record_id] = version
        return True

    def dry_run_limit_reached(self, emitted: int) -> bool:
        """True once a --test run (or the SDK test suite) has all the rows it asked for.

        Stopping here instead of letting the SDK abort the stream keeps a successful
        --test free of its "An unhandled error occurred" ERROR lines.
        """
        limit = self.ABORT_AT_RECORD_COUNT
        return limit is not None and emitted >= limit

    def _keep_prior_bookmark(self, context: Context | None) -> None:
        """A read cut short (a next link that loops) must not move the bookmark past rows it
        never reached: this run's progress is dropped, the prior bookmark stays."""
        self.get_context_state(context).pop("progress_markers", None)

    def _settle_bookmark(self, context: Context | None, read_started: int) -> None:
        # The SDK promotes an unsorted stream's bookmark to the maximum seen *this run*.
        # Two corrections before it does:
        # - Cap it at the read's start. Rows are read in id order, not modified_date
        #   order, so a row changed during a long read (a big organization, 429 back-off)
        #   can sit on a page already read; were the bookmark the newest value seen,
        #   the next run's updated_since (bookmark - lookback) could pass it for ever.
        # - Never below the prior bookmark. With the lookback (and the attendances
        #   re-check) re-reading older rows, the maximum can sit below it, and the
        #   bookmark would slide back run after run; a prior bookmark ahead of our clock
        #   (skew) is kept as well rather than stepped back to the start time.
        state = self.get_context_state(context)
        markers = state.get("progress_markers")
        if not isinstance(markers, dict) or markers.get("replication_key_value") is None:
            return
        prior = state.get("replication_key_value")
        try:
            settled = min(markers["replication_key_value"], read_started)
            if prior is not None:
                settled = max(settled, prior)
        except TypeError:  # a hand-edited state of another type: leave it to the SDK
            return
        markers["replication_key_value"] = settled

    def report_end_of_stream(self) -> None:
        """One warning per stream for masked rows, so a run's log says what was left out."""
        if self.masked_count:
            self.logger.warning(
                "Stream '%s': skipped %d record(s) with a null id. Mobilize nulls the ids of "
                "records hidden across the coordinated/independent firewall (and lists "
                "'ghost events'); without an id they cannot be keyed or updated downstream.",
                self.name,
                self.masked_count,
            )
            self.masked_count = 0
        if self.duplicate_count:
            self.logger.info(
                "Stream '%s': dropped %d repeated record(s) seen earlier in this run.",
                self.name,
                self.duplicate_count,
            )
            self.duplicate_count = 0
