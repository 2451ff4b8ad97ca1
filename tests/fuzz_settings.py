"""How many hostile examples the fuzz tests run (Hypothesis).

In `scripts/test.sh` (and so CI): a fixed number per test, derandomized, so that every run
tries the same examples and takes the same time. `scripts/fuzz.sh` runs FUZZ_SCALE times as
many, with a new random seed each run (Hypothesis prints how to reproduce a failure).
docs/reliability.md gives the numbers.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings


def scale() -> int:
    return max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def phases() -> list[Phase]:
    """FUZZ_NO_SHRINK=1 skips shrinking: a failure shows the example as found, at once, where
    shrinking a run of the tap or the target can take minutes."""
    if os.environ.get("FUZZ_NO_SHRINK"):
        return [Phase.explicit, Phase.reuse, Phase.generate]
    return list(Phase)


def fuzz(ci_examples: int) -> settings:
    """Settings of a fuzz test that runs ``ci_examples`` examples in CI."""
    more = scale()
    return settings(
        max_examples=ci_examples * more,
        derandomize=more == 1,
        database=None,  # nothing left behind in the work tree
        deadline=None,  # a run of the target takes what the machine gives it
        print_blob=True,
        phases=phases(),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
