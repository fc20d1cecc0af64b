"""Retry timing shared by the connectors, the LLM providers and the job engine.

Two questions every retry loop asks, answered once:

- **How long to back off** when the server gave no hint: ``Backoff`` — exponential from ``base``,
  capped, with jitter so that many clients failing together (an outage) do not come back together.
- **How long the server asked us to wait**: ``retry_after`` reads ``retry-after-ms`` (milliseconds,
  Anthropic and OpenAI) and ``Retry-After`` (seconds or an HTTP date, RFC 9110 §10.2.3);
  ``parse_delay`` reads one such value, for headers of a vendor's own (Wildberries' ``X-Ratelimit-Retry``,
  Yandex Market's ``X-RateLimit-Resource-Until``).

The loops themselves stay with their owners: each knows what a failure is and whom to tell.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``attempt`` (1 = the first retry): ``base × 2^(attempt-1)``, capped.

    ``jitter="full"`` draws uniformly from ``[0, delay)`` (AWS's "full jitter": the best spread for many
    clients of one server); ``"spread"`` draws from ``[delay/2, 3·delay/2)``, which keeps a floor under
    the wait (a job that just failed is not run again at once).
    """

    base: float = 0.5
    cap: float = 30.0
    jitter: Literal["full", "spread"] = "full"

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        exp = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        r = (rng or random).random()
        if self.jitter == "full":
            return float(exp * r)
        return float(exp * (0.5 + r))


def parse_delay(raw: str, now: datetime | None = None) -> float | None:
    """Seconds from one header value: a number of seconds, or an HTTP date (then: until that time).

    Returns ``None`` for a value that is neither; never a negative number.
    """
    text = raw.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms`` (preferred, precise), else ``Retry-After``."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    return None if value is None else parse_delay(value, now)
