"""What a sync that stops before reading its input does with that input: drops it, briefly.

Under `meltano run` the tap's output is piped into the target. When the target exits without
having read any of it (missing credentials, the organization's run lock held) and the tap has
already finished, Meltano then closes a pipe holding data nobody will read, and fails with a
BrokenPipeError traceback instead of the target's one line. So the target reads and drops its
input until the tap's output ends, for a minute at most: a tap still reading Mobilize after
that is stopped by Meltano, which does so cleanly once the target has exited.
"""

from __future__ import annotations

import os
import select
import sys
import time
from typing import IO

# Long enough for a small organization's whole read, even on a loaded machine (at 5 s, a tap
# still writing when the target left made Meltano's pipe fail with a BrokenPipeError traceback
# on a busy CI machine); a large organization's tap is stopped by Meltano after it.
DISCARD_SECONDS = 60.0


def discard_unread_input(file_input: IO[str] | None, seconds: float = DISCARD_SECONDS) -> None:
    stream = file_input if file_input is not None else sys.stdin
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a pipe (a test's text buffer): nothing waits on it
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return
        try:
            if not os.read(fd, 1 << 16):
                return  # the tap's output ended
        except OSError:
            return
