"""The dataset's one random stream and the draws every generator shares (ids, dates,
phones, emails, postal codes).

Every generator draws from the same ``random.Random(seed)`` in a fixed order: that order
is what makes a seed give the same dataset byte for byte, so a new draw goes at the end
of its generator, never between two existing ones.
"""

from __future__ import annotations

import random

from sandbox.datagen.vocabulary import EMAIL_DOMAINS

City = tuple[str, str, str, float, float, str, str]


def fraction(n: int, frac: float) -> int:
    """``frac`` of ``n``, at least one as soon as the dataset is big enough to hold it."""
    if n <= 0:
        return 0
    return max(1, round(n * frac)) if n >= 10 else int(n * frac)


class Draws:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def ids(self, start: int, count: int) -> list[int]:
        """Increasing ids with small random gaps, like a shared database sequence."""
        rng = self.rng
        out = []
        current = start
        for _ in range(count):
            current += rng.choice((1, 1, 1, 2, 3))
            out.append(current)
        return out

    def dates(self, low: int, high: int) -> tuple[int, int]:
        """created_date in [low, high) and modified_date in [created, high)."""
        rng = self.rng
        high = max(high, low + 2)
        created = rng.randrange(low, high - 1)
        # Most objects were touched again after creation, some long after.
        modified = created if rng.random() < 0.2 else rng.randrange(created, high)
        return created, modified

    def phone(self, uid: int) -> str:
        """A US number, unique per ``uid`` (below 8,000,000)."""
        area = self.rng.randrange(201, 990)
        return f"{area}{2 + uid % 8}{uid // 8 % 1_000_000:06d}"

    def email(self, given: str, family: str, uid: int) -> str:
        """An address unique per ``uid``: targets that match contacts by email must not merge."""
        local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isascii() and ch != "'")
        return f"{local}{uid}@{self.rng.choice(EMAIL_DOMAINS)}"

    def postal_code(self, city: City) -> str:
        return f"{city[2]}{self.rng.randrange(1, 100):02d}"
