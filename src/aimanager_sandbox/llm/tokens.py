"""Token counts the way a provider bills them: a real BPE tokenizer, never the client's estimate.

``bpe_openai`` ships the cl100k and o200k tables inside its wheel (nothing is downloaded). Claude's own
tokenizer is not public; cl100k is the closest public one and, like Claude's, gives ~1.7× the ``len/4``
rule of thumb on Cyrillic/Uzbek card JSON — which is the gap the sandbox exists to expose. GPT models
use o200k.

A request is billed as its text plus a small fixed overhead per message and per request (role markers
and the turn template that a provider wraps around the text).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import bpe_openai

MESSAGE_OVERHEAD = 4  # role marker and turn separators around each message
REQUEST_OVERHEAD = 3  # the assistant turn the prompt is primed with
IMAGE_TOKENS = 1600  # one image block, roughly what a 1-megapixel image costs
# The tokenizer refuses texts over 200,000 tokens at once; long texts are encoded in slices cut at a
# space (a slice of 40,000 characters is at most 160,000 bytes, so at most that many tokens).
_SLICE_CHARS = 40_000


@functools.cache
def _encoding(name: str) -> Any:
    return bpe_openai.get_encoding(name)


def encoding_name(model: str) -> str:
    """The tokenizer a model is counted with: cl100k for ``claude-*``, o200k for every other model."""
    return "cl100k_base" if model.startswith("claude") else "o200k_base"


def _ids(text: str, model: str) -> list[int]:
    encoding = _encoding(encoding_name(model))
    if len(text) <= _SLICE_CHARS:
        return list(encoding.encode_ordinary(text))
    ids: list[int] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _SLICE_CHARS)
        if end < len(text):
            space = text.rfind(" ", start + _SLICE_CHARS // 2, end)
            end = space if space > start else end
        ids.extend(encoding.encode_ordinary(text[start:end]))
        start = end
    return ids


def count(text: str, model: str) -> int:
    """Tokens of ``text`` for ``model``."""
    return len(_ids(text, model)) if text else 0


def cut(text: str, max_tokens: int, model: str) -> tuple[str, int, bool]:
    """``(text, output_tokens, was_cut)``: ``text`` cut after exactly ``max_tokens`` tokens.

    The first ``max_tokens`` tokens are decoded; a UTF-8 character split by the cut is dropped (a real
    provider never sends half a character), so the text is always a prefix of the whole answer.
    """
    ids = _ids(text, model) if text else []
    if len(ids) <= max_tokens:
        return text, len(ids), False
    encoding = _encoding(encoding_name(model))
    head = encoding.decode_bytes(ids[: max(0, max_tokens)]).decode("utf-8", errors="ignore")
    return head, max(0, max_tokens), True


def text_of(content: Any) -> tuple[str, int]:
    """``(text, image blocks)`` of a message ``content``: a string or a list of typed parts."""
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for part in content or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("image", "image_url", "input_image"):
            images += 1
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "".join(texts), images


def count_request(system: str, messages: Iterable[Any], model: str) -> int:
    """Input tokens of a request: the system text, every message (text, images, overhead)."""
    total = REQUEST_OVERHEAD + (count(system, model) + MESSAGE_OVERHEAD if system else 0)
    for content in messages:
        text, _ = text_of(content)
        total += count(text, model) + _image_tokens(content, model) + MESSAGE_OVERHEAD
    return total


def _image_tokens(content: Any, model: str) -> int:
    """Image blocks billed by their pixel size (``vision``); an undecodable one at ``IMAGE_TOKENS``."""
    from aimanager_sandbox.llm import vision

    return sum(
        vision.image_tokens(model, i.width, i.height) if i is not None else IMAGE_TOKENS
        for i in vision.images_in(content)
    )
