"""Error types.

Fatal ones abort the run (non-zero exit, no STATE); RecordRejected dead-letters one record.
"""

from __future__ import annotations


class TargetPDIError(Exception):
    """Base class."""


class FatalError(TargetPDIError):
    """Stops the run before STATE is emitted: the next run restarts from the previous bookmark."""


class ConfigurationError(FatalError):
    """A setting is wrong (unknown calendar, missing credentials)."""


class AuthenticationError(FatalError):
    """PDI refused the credentials or the bearer token."""


class APIUnavailableError(FatalError):
    """PDI answered nobody for longer than the outage window, or nearly every write failed."""


class Stopped(FatalError):
    """SIGTERM: the requests in flight were finished and the id map saved; no STATE follows."""


class TimeBudgetSpent(FatalError):
    """The run used up its time budget (`time_budget_seconds`), 429 back-offs included."""


class TapFailed(TargetPDIError):
    """The tap failed, or ended without finishing (tap_outcome.py): what it sent was written
    and STATE emitted for it, but the run as a whole failed."""


class RecordRejected(TargetPDIError):
    """PDI refused one record (400/404/409/422...): dead-letter it and carry on."""

    def __init__(self, message: str, *, http_status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body = body


class RequestFailed(RecordRejected):
    """One request still failed (5xx, no answer) after its retries while PDI answered others:
    the record's failure, dead-lettered like a refusal and retried next run."""
