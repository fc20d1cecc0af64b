"""Token estimates from text, calibrated from the usage providers bill.

Real tokenizers are model-specific and not shipped with the product; ~4 characters per token holds for
English JSON, while Cyrillic and Uzbek card text takes 1.6-1.9× that at a real BPE tokenizer. So the
client starts from the rule of thumb times a cautious factor and learns, per model, the ratio between the
tokens a provider billed and the characters it was sent (``TokenCalibration``). The limiter only needs
estimates — it is corrected from usage and headers after every call — but an estimate that stays low
under-reserves the input-token limit and draws 429s.
"""

from __future__ import annotations

import math

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


# Images: Anthropic bills about width×height/750 tokens after shrinking the long side to what the model
# reads (2,576 px from the 4.7 models on; reference/llm-gateways.md §3.1). OpenAI bills 85 + 170 per
# 512-px tile of the image fitted in 2048 px and shrunk to 768 px on its short side.
CLAUDE_LONG_SIDE = 2576


def image_tokens(model: str, width: int, height: int) -> int:
    """Input tokens one ``width``×``height`` image costs on ``model`` (by the providers' published rules)."""
    if width <= 0 or height <= 0:
        return 0
    if model.startswith("claude"):
        scale = min(1.0, CLAUDE_LONG_SIDE / max(width, height))
        return math.ceil(width * scale * height * scale / 750)
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
