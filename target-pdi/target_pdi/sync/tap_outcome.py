"""What target-pdi knows of how its tap ended, from the markers tap-mobilize puts in its output.

The target sees its input end the same way whether the tap finished, failed or was killed, and
Meltano passes it nothing else (nor does a shell pipe). tap-mobilize therefore opens its output
with a STATE message carrying ``"tap_mobilize": {"outcome": "started"}`` beside its value, and
closes it with ``{"outcome": "completed"}``, or ``{"outcome": "failed", "error": "<its one
line>"}`` (tap-mobilize/tap_mobilize/run_markers.py). So, at the end of the input:

- the last marker says completed: the tap finished;
- the last marker says failed: the tap failed, and says why (a failure before its sync started
  comes as that marker alone);
- a start with no end: the tap ended without finishing (SIGKILL, a crash of the interpreter);
  so does input whose last line was cut off in the middle of a message;
- no marker at all: input written by hand or by another tap, which the run takes as before,
  with a warning.

Records before a failure are still written (the bookmarks then stop at the last state the tap
emitted, which covers only records that are in PDI or in the dead letters); a failure marker's
value is never taken as a new state. The run counts as failed with the tap's reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from target_pdi.redact import redact

MARKER_KEY = "tap_mobilize"
TAP_NAME = "tap-mobilize"

STARTED = "started"  # a marker's outcome, never a summary's
# Outcomes as the run summary's `tap` entry shows them.
COMPLETED = "completed"
FAILED = "failed"
ENDED_EARLY = "ended without finishing"
UNKNOWN = "unknown"  # no marker: input by hand or from another tap
NOT_READ = "not read to its end"  # the target stopped before its input ended
# Those that fail the run, and that the summary's `attention` names.
FAILING = (FAILED, ENDED_EARLY)

ENDED_EARLY_ERROR = f"{TAP_NAME} ended without finishing (killed or crashed: see its log)"
CUT_OFF_ERROR = (
    f"{TAP_NAME} ended without finishing, in the middle of a message (killed: see its log)"
)
ERROR_LIMIT = 500


class TapOutcome:
    """Follows the tap's markers through one run's input."""

    def __init__(self) -> None:
        self.started = False
        self.last: str | None = None  # the outcome of the last marker read
        self.error: str | None = None
        self.input_ended = False
        self.cut_off = False

    def lines(self, source: Iterable[str]) -> Iterator[str]:
        """The input's lines, less a last one cut off in the middle of a message (its writer
        killed while writing it), which the SDK would otherwise log, record and all, and fail
        on. A last line without a newline that is a whole message is kept."""
        for line in source:
            if not line.endswith("\n") and not _is_json(line):
                self.cut_off = bool(line.strip())
                continue
            yield line
        self.input_ended = True

    def see(self, message: Mapping[str, Any]) -> bool:
        """Note a STATE message's marker, if it has one. True when its value must not be taken
        as state: a failure marker's never is (it is the tap's last state, or none at all)."""
        marker = message.get(MARKER_KEY)
        if not isinstance(marker, Mapping):
            return False
        outcome = marker.get("outcome")
        if outcome == STARTED:
            self.started, self.last, self.error = True, None, None
            return False
        if outcome == COMPLETED:
            self.last, self.error = COMPLETED, None
            return False
        if outcome == FAILED:
            self.last = FAILED
            self.error = _one_line(marker.get("error")) or "no reason given"
            return True
        return False

    @property
    def outcome(self) -> str:
        if not self.input_ended:
            return NOT_READ
        if self.last is not None and not self.cut_off:
            return self.last
        if self.started or self.cut_off:
            return ENDED_EARLY
        return UNKNOWN

    @property
    def marked(self) -> bool:
        """Whether the input came from tap-mobilize (it held at least one of its markers)."""
        return self.started or self.last is not None

    def failure(self) -> str | None:
        """Why the run failed because of the tap, in one line (None: it did not)."""
        outcome = self.outcome
        if outcome == FAILED:
            return f"{TAP_NAME} failed: {self.error}"
        if outcome == ENDED_EARLY:
            return CUT_OFF_ERROR if self.cut_off else ENDED_EARLY_ERROR
        return None

    def as_summary(self) -> dict[str, Any]:
        """The run summary's `tap` entry."""
        outcome = self.outcome
        error = self.error if outcome == FAILED else self.failure()
        return {"outcome": outcome, "error": error}

    def warn_if_unmarked(self, logger: logging.Logger) -> None:
        if self.input_ended and not self.marked:
            logger.warning(
                "The input holds no %s markers (written by hand, or by another tap): this run "
                "cannot tell whether its tap finished, and reports only on its own writes",
                TAP_NAME,
            )


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _one_line(value: Any) -> str:
    # Foreign text: whatever the tap wrote, no secret of ours goes further.
    lines = redact(value or "").strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= ERROR_LIMIT else line[: ERROR_LIMIT - 3] + "..."
