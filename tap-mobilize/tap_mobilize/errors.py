"""The tap's errors: the failures a user has to fix, each one line naming the setting."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class MobilizeFatalError(FatalAPIError):
    """A failure the user has to fix; the message is one line and names the setting."""


class MobilizeNotFoundError(MobilizeFatalError):
    """HTTP 404: fatal for a stream's own list, skippable where a row vanished meanwhile."""


class MobilizeTimeBudgetError(MobilizeFatalError):
    """The run used up ``time_budget_seconds`` (429 pauses and outage waits included)."""


class MobilizeUnavailableError(MobilizeFatalError):
    """Mobilize answered nobody for longer than ``outage_seconds``."""
