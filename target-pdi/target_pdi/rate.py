"""The request rate shared by every worker of a run, adapting to PDI's 429s (AIMD)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Without a Retry-After header, everyone waits this long after a 429.
DEFAULT_PAUSE = 1.0
# The rate never falls below this: PDI answering 429 forever is the time budget's business.
FLOOR = 0.5
# Where a ceiling of 0 ("none") starts: far above any API's limit, halved by the first 429s.
UNBOUNDED_START = 1000.0


class AdaptiveRate:
    """Spaces requests ``1 / rate`` seconds apart across threads; halves the rate on a 429.

    PDI's limit is not published, so the configured rate is only a ceiling. A 429 pauses
    every worker until its Retry-After has passed (the limit is per account, so the others
    would only collect 429s of their own) and halves the rate once per episode: the 429s of
    requests already sent at the old rate say nothing new. Each clean answer adds ``1 / rate``
    requests/s, about one request/s more per second, so the rate climbs back slowly.
    """

    def __init__(
        self,
        ceiling: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = float(ceiling) if ceiling and ceiling > 0 else UNBOUNDED_START
        self.ceiling = max(FLOOR, self.ceiling)
        self.rate = self.ceiling
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self.episode = 0  # bumped by every decrease
        self.throttled = 0  # 429s seen

    def acquire(self) -> int:
        """Block until the caller may send; return the episode its request belongs to."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + 1.0 / self.rate
            episode = self.episode
        # Sleep outside the lock: callers queue in slot order without holding each other up.
        if slot > now:
            self._sleep(slot - now)
        return episode

    def on_throttled(self, episode: int, retry_after: float | None) -> None:
        """A request of ``episode`` got a 429."""
        with self._lock:
            self.throttled += 1
            pause_end = self._clock() + (DEFAULT_PAUSE if retry_after is None else retry_after)
            self._paused_until = max(self._paused_until, pause_end)
            if episode == self.episode:
                self.rate = max(FLOOR, self.rate / 2)
                self.episode += 1

    def on_success(self) -> None:
        with self._lock:
            if self.rate < self.ceiling:
                self.rate = min(self.ceiling, self.rate + 1.0 / self.rate)
