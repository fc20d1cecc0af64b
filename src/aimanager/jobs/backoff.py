"""Retry delays: exponential backoff with jitter."""

from __future__ import annotations

import random

BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0


def backoff_delay(
    attempts: int,
    *,
    base: float = BASE_DELAY_S,
    cap: float = MAX_DELAY_S,
    rng: random.Random | None = None,
) -> float:
    """Delay before the next attempt after ``attempts`` attempts have run.

    ``base * 2**(attempts-1)``, capped, then scaled by a random factor in [0.5, 1.5) so that many jobs
    failing together (a provider outage) do not come back together.
    """
    exp = base * (2 ** max(0, attempts - 1))
    r = (rng or random).random()
    return float(min(cap, exp) * (0.5 + r))
