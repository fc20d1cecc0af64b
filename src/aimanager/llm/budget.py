"""Output budgets: ``max_tokens`` per call sized from the output actually observed per item.

A fixed guess fails both ways. Too low and packs are cut by ``max_tokens`` (one real ru+uz card is
~700-1,500 tokens by a real tokenizer; a 400-token guess cut every pack). Too high and every call
reserves output tokens it never writes — providers charge ``max_tokens`` against the output-tokens-per-
minute limit while a call runs. So the budget per item starts at the route's value (which fits one
realistic card) and then follows the provider's own ``usage``: a high percentile of the output tokens
per item seen for that task kind and model, with headroom. A cut answer counts too: it proves the items
needed at least ``output_tokens / (complete items + 1)`` each, so the budget grows at once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

# One realistic ru+uz card (two descriptions of marketplace length, bullets, keywords, attributes) by a
# real tokenizer: the start for any task kind whose route does not say otherwise.
DEFAULT_TOKENS_PER_ITEM = 1800
# Output ceiling of one call when the model is not listed in ``GatewayConfig.max_output_tokens_per_call``.
DEFAULT_CALL_CAP = 32_000
PERCENTILE = 0.95
# A pack's output per item is an average over its items, so it varies little from pack to pack: a tenth
# over the high percentile cuts almost no pack, and every token of headroom is reserved against the
# output-tokens limit for as long as a call runs (minutes for a real pack).
HEADROOM = 1.1
# Below this many observations the budget may grow from them but not shrink under the start value.
MIN_SAMPLES_TO_SHRINK = 5
WINDOW = 200
# After a cut, the next ask for an item gets at least this many times the per-item budget it was cut at.
CUT_GROWTH = 1.5
# A call of fewer items than this has no average to lean on (re-asks go alone): its budget is learned from
# such calls, and is at least a quarter over a pack's average card (one card can run that long). Learned
# from pack averages alone, single re-asks were cut (1 % of a Batch pass's calls); with the singles'
# longest card in the packs' budget, every pack reserved output tokens nobody wrote.
FEW_ITEMS = 5
FEW_ITEMS_HEADROOM = 1.25
# A budget never shrinks below this, whatever was observed (an empty answer is not a card).
FLOOR_TOKENS_PER_ITEM = 64


class OutputBudgets:
    """Per (task kind, model): recent output tokens per item, and the budgets they imply."""

    def __init__(self, call_caps: Mapping[str, int] | None = None) -> None:
        self.call_caps = dict(call_caps or {})
        self._seen: dict[tuple[str, str], deque[float]] = {}  # per item, from calls of FEW_ITEMS or more
        self._few: dict[tuple[str, str], deque[float]] = {}  # per item, from calls of fewer

    def call_cap(self, model: str) -> int:
        """The most output one call to ``model`` may ask for (the model's max output)."""
        return self.call_caps.get(model, self.call_caps.get("*", DEFAULT_CALL_CAP))

    def observe(self, task_kind: str, model: str, tokens_per_item: float, items: int = FEW_ITEMS) -> None:
        """Record output tokens per item of one answer of ``items`` items (a lower bound when the
        answer was cut)."""
        if tokens_per_item > 0:
            windows = self._few if items < FEW_ITEMS else self._seen
            windows.setdefault((task_kind, model), deque(maxlen=WINDOW)).append(tokens_per_item)

    def per_item(self, task_kind: str, model: str, start: int, items: int = FEW_ITEMS) -> int:
        """Tokens to ask for per item of a call of ``items`` items: ``start`` until usage is seen, then a
        high percentile of it with headroom (shrinking below ``start`` only after a few observations);
        never more than one call. A call of a few items: see ``FEW_ITEMS``."""
        packs = sorted(self._seen.get((task_kind, model), ()))
        few = sorted(self._few.get((task_kind, model), ()))
        if items >= FEW_ITEMS:
            budget = _learned(packs or few, start)
        else:
            from_packs = math.ceil(_learned(packs, start) * FEW_ITEMS_HEADROOM) if packs else 0
            budget = max(_learned(few, start), from_packs)
        return min(budget, self.call_cap(model))

    def max_tokens(self, per_item: int, items: int, model: str) -> int:
        """``max_tokens`` of a call of ``items`` items: the per-item budget times the items, capped by the
        model's max output."""
        return min(per_item * max(items, 1), self.call_cap(model))


def _learned(seen: list[float], start: int) -> int:
    """The budget ``seen`` (sorted) implies: ``start`` while empty; a high percentile with headroom and
    at least the longest seen, below ``start`` only after ``MIN_SAMPLES_TO_SHRINK`` observations."""
    if not seen:
        return start
    high = seen[min(len(seen) - 1, math.ceil(PERCENTILE * len(seen)) - 1)]
    learned = max(math.ceil(high * HEADROOM), math.ceil(seen[-1]), FLOOR_TOKENS_PER_ITEM)
    return learned if len(seen) >= MIN_SAMPLES_TO_SHRINK else max(start, learned)
