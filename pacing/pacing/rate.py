"""AdaptiveRate: the request rate shared by every thread of a run, adapting to 429s (AIMD)."""

from __future__ import annotations

import math
import threading
from collections import deque

from pacing.clock import Clock

# Without a Retry-After header, every caller waits this long after a 429.
DEFAULT_PAUSE_SECONDS = 1.0
# The rate never goes below this: an API answering 429 for ever is the time budget's
# business, and a lower rate would only stretch each step of the climb back.
FLOOR_PER_SECOND = 0.5
# The additive increase: requests/s gained per second of clean answers.
CLIMB_PER_SECOND = 1.0
# A 429 at a rate near the last one the API refused finds the same limit again: the rate
# drops by this factor instead of halving, so a known limit is held at ~97%, not ~75%.
GENTLE_DECREASE = 0.95
# "Near": within this factor of the last refused rate (further means the limit moved).
NEAR_REFUSED = 1.25
# From this share of the last refused rate up, the climb slows to PROBE_SHARE_PER_SECOND of
# that rate per second: every 429 pauses every caller, so the limit is probed rarely.
PROBE_FROM = 0.95
PROBE_SHARE_PER_SECOND = 0.0025


class OutOfTimeError(Exception):
    """The caller's turn would come after its deadline; nothing was waited."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"{wait:.1f} s to wait")
        self.wait = wait


class AdaptiveRate:
    """Spaces requests ``1 / rate`` apart across threads; AIMD on the API's 429s.

    APIs answer 429 at a limit they may not publish or may lower at short notice, so the
    configured rate is only a ceiling:

    - It starts at ``ceiling`` requests/s. ``0`` means no ceiling: no spacing until the
      first 429, then 95% of what the API answered cleanly in the second before it (the
      best measure of its limit there is).
    - A 429 pauses *every* caller until its Retry-After has passed: the limit is per IP or
      per account, so the other threads would only collect 429s of their own.
    - The rate drops once per episode: a request acquired before the last decrease was
      sent at the old rate, and its 429 says nothing new. It is halved, unless the API
      refused about the same rate before (``GENTLE_DECREASE``): the limit is learned.
    - Clean answers raise it by ``CLIMB_PER_SECOND`` per second, up to the ceiling; near
      the learned limit by ``PROBE_SHARE_PER_SECOND`` of it per second.
    """

    def __init__(self, ceiling: float, *, clock: Clock | None = None) -> None:
        self.ceiling = float(ceiling) if ceiling and ceiling > 0 else math.inf
        # None: unpaced (no ceiling and no 429 yet).
        self.rate: float | None = self.ceiling if self.ceiling < math.inf else None
        self.episode = 0  # bumped by every decrease
        self.throttled = 0  # 429s reported, for logs and tests
        self._clock = clock or Clock()
        self._lock = threading.Lock()
        self._next_slot = -math.inf
        self._paused_until = -math.inf
        self._climb_from = -math.inf
        self.refused: float | None = None  # the rate of the last decrease's 429
        self._recent: deque[float] = deque()  # clean answers in the last second, while unpaced

    def acquire(self, deadline: float = math.inf) -> int:
        """Block until the caller may send; return the episode its request belongs to.

        Raises :class:`OutOfTimeError`, without waiting, when the turn would come after
        ``deadline``.
        """
        with self._lock:
            now = self._clock.now()
            slot = self._reserve(now)
        while True:
            if slot > deadline:
                raise OutOfTimeError(slot - now)
            # Sleep outside the lock: callers queue in slot order without holding each
            # other up.
            self._clock.sleep(slot - now)
            # Time is taken as the slot, not read again: a pause reported meanwhile must
            # still hold this caller back, and a faked sleep must not spin for ever.
            now = max(now, slot)
            with self._lock:
                if self._paused_until <= now:
                    return self.episode
                slot = self._reserve(now)

    def _reserve(self, now: float) -> float:
        slot = max(now, self._next_slot, self._paused_until)
        self._next_slot = slot + (1.0 / self.rate if self.rate else 0.0)
        return slot

    def on_throttled(self, episode: int, retry_after: float | None) -> bool:
        """A request of ``episode`` was answered 429; True if that lowered the rate."""
        with self._lock:
            self.throttled += 1
            now = self._clock.now()
            pause = DEFAULT_PAUSE_SECONDS if retry_after is None else max(retry_after, 0.0)
            self._paused_until = max(self._paused_until, now + pause)
            # Slots handed out before the pause start again after it, at the new spacing.
            self._next_slot = max(self._next_slot, self._paused_until)
            # Seconds of pause are not seconds of clean answers.
            self._climb_from = max(self._climb_from, self._paused_until)
            if episode != self.episode:
                return False
            if self.rate is not None:
                current = self.rate
                learned = (
                    self.refused is not None
                    and self.refused / NEAR_REFUSED <= current <= self.refused * NEAR_REFUSED
                )
                factor = GENTLE_DECREASE if learned else 0.5
            else:
                # Unpaced: what got through in the last second is what the API allows.
                current = float(sum(1 for answered in self._recent if answered >= now - 1.0))
                factor = GENTLE_DECREASE
            self.refused = max(FLOOR_PER_SECOND, current)
            self.rate = max(FLOOR_PER_SECOND, current * factor)
            self.episode += 1
            return True

    def on_success(self) -> None:
        """A clean answer: climb by the seconds of clean answers since the last step."""
        with self._lock:
            now = self._clock.now()
            if self.rate is None:
                self._recent.append(now)
                while self._recent and self._recent[0] < now - 1.0:
                    self._recent.popleft()
            elif now > self._climb_from:
                if self._climb_from > -math.inf:
                    self.rate = min(
                        self.ceiling, self.rate + self._climb() * (now - self._climb_from)
                    )
                self._climb_from = now

    def _climb(self) -> float:
        """Requests/s gained per second of clean answers at the current rate."""
        assert self.rate is not None
        if self.refused is not None and self.rate >= self.refused * PROBE_FROM:
            return self.refused * PROBE_SHARE_PER_SECOND
        return CLIMB_PER_SECOND

    def describe_ceiling(self) -> str:
        """``"no ceiling"`` or ``"10/s"``, for log lines."""
        return "no ceiling" if self.ceiling == math.inf else f"{self.ceiling:g}/s"
