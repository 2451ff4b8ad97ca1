"""The markers that open and close the tap's output, so that a target can tell a finished run
from a failed or killed one.

A target sees its input end the same way whether the tap finished, failed or was killed, and
Meltano (or a shell pipe) tells it nothing more. So a sync's first message is a STATE message
with the input state and ``"tap_mobilize": {"outcome": "started"}`` beside ``type`` and
``value``, and its last one a STATE message with the last state the tap emitted and
``{"outcome": "completed"}``, or ``{"outcome": "failed", "error": "<one line>"}`` before it
exits non-zero. Output that starts with the first and lacks the last was cut short (SIGKILL,
the interpreter dying). A failure before the sync starts (its configuration refused) ends the
output with a failure marker alone, whose value is the empty state.

Why a key beside ``value``, not in it, and not a message type of its own: a target reads only
``value`` of a STATE message and writes that back, so the marker never reaches Meltano's stored
state nor a warehouse; and each marker's value is a state the tap already stands behind (the
input, or the last one emitted), so a target that knows nothing of markers takes them as
ordinary STATE messages. An unknown message type would make singer-sdk targets raise.
"""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.messages import Message, StateMessage

from tap_mobilize.errors import MobilizeFatalError

if t.TYPE_CHECKING:
    from singer_sdk.io_base import GenericSingerWriter

MARKER_KEY = "tap_mobilize"
STARTED = "started"
COMPLETED = "completed"
FAILED = "failed"
ERROR_LIMIT = 300
REDACTED = "(redacted)"


@dataclass(slots=True)
class MarkedStateMessage(StateMessage):
    """A STATE message with the tap's marker beside its value."""

    tap_mobilize: Mapping[str, t.Any] = field(default_factory=dict)


class StateTrackingWriter(SingerWriter):
    """The SDK's writer, remembering the last state it wrote: a failure marker repeats it, so
    that its value is never a new state."""

    def __init__(self) -> None:
        super().__init__()
        self.last_state: Mapping[str, t.Any] = {}

    def write_message(self, message: Message) -> None:
        super().write_message(message)
        if isinstance(message, StateMessage):
            # The SDK hands over its live state dict, which it goes on changing.
            self.last_state = copy.deepcopy(message.value)


class RunMarkers:
    """Writes one sync's markers through the tap's message writer."""

    def __init__(self, writer: GenericSingerWriter) -> None:
        self.writer = writer

    def started(self, input_state: Mapping[str, t.Any]) -> None:
        self._write(copy.deepcopy(dict(input_state)), {"outcome": STARTED})

    def completed(self) -> None:
        self._write(self._last_state(), {"outcome": COMPLETED})

    def failed(self, error: str) -> None:
        self._write(self._last_state(), {"outcome": FAILED, "error": error})

    def _last_state(self) -> Mapping[str, t.Any]:
        return self.writer.last_state if isinstance(self.writer, StateTrackingWriter) else {}

    def _write(self, value: Mapping[str, t.Any], marker: Mapping[str, t.Any]) -> None:
        self.writer.write_message(MarkedStateMessage(value=value, tap_mobilize=marker))


def failure_line(error: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The one line a failure marker carries: the line the tap logs for its own errors, the
    exception for anything unexpected; first line only, secrets masked, bounded."""
    expected = isinstance(error, MobilizeFatalError | ConfigValidationError)
    text = str(error).strip()
    if isinstance(error, ConfigValidationError) and error.errors:
        text = f"{text}: {'; '.join(error.errors)}"
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    line = text.splitlines()[0] if text else ""
    if not expected:
        line = f"unexpected {type(error).__name__}" + (f": {line}" if line else "")
    if len(line) > ERROR_LIMIT:
        line = line[: ERROR_LIMIT - 3] + "..."
    return line if expected else f"{line} (the traceback is in the tap's log)"
