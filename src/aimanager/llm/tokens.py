"""Token estimates from text, shared by the gateway's limiter and the sandbox.

Real tokenizers are model-specific and not available offline; ~4 characters per token is the usual
rule of thumb for mixed Latin/Cyrillic text and JSON. The limiter only needs estimates (it is corrected
from the provider's usage and headers after each call), and the sandbox counts with the same function so
that estimates and "billed" usage agree in tests.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Approximate token count of ``text`` (at least 1 for non-empty text)."""
    if not text:
        return 0
    return max(1, -(-len(text) // CHARS_PER_TOKEN))
