"""Token estimates from text, calibrated from the usage providers bill.

Real tokenizers are model-specific and not shipped with the product; ~4 characters per token holds for
English JSON, while Cyrillic and Uzbek card text takes 1.6-1.9× that at a real BPE tokenizer. So the
client starts from the rule of thumb times a cautious factor and learns, per model, the ratio between the
tokens a provider billed and the characters it was sent (``TokenCalibration``). The limiter only needs
estimates — it is corrected from usage and headers after every call — but an estimate that stays low
under-reserves the input-token limit and draws 429s.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4
# Before a model's first answer: between English (1.0) and Cyrillic (~1.8) at 4 chars per token.
START_FACTOR = 1.5
# How fast the learned factor follows new calls (an exponential moving average).
LEARNING_RATE = 0.2


def estimate_tokens(text: str) -> int:
    """Uncalibrated token estimate of ``text`` (at least 1 for non-empty text)."""
    if not text:
        return 0
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


class TokenCalibration:
    """Per-model factor from ``estimate_tokens`` to the tokens the provider actually billed."""

    def __init__(self, start: float = START_FACTOR) -> None:
        self.start = start
        self._factor: dict[str, float] = {}

    def factor(self, model: str) -> float:
        return self._factor.get(model, self.start)

    def estimate(self, model: str, text: str) -> int:
        """Calibrated token estimate of ``text`` for ``model``."""
        return max(1, round(estimate_tokens(text) * self.factor(model))) if text else 0

    def observe(self, model: str, estimated_raw: int, billed: int) -> None:
        """Learn from one call: ``estimated_raw`` by ``estimate_tokens``, ``billed`` from its usage."""
        if estimated_raw <= 0 or billed <= 0:
            return
        ratio = billed / estimated_raw
        if model not in self._factor:
            self._factor[model] = ratio
        else:
            self._factor[model] += LEARNING_RATE * (ratio - self._factor[model])
