"""Numbers and model codes in card text, and the one rule for them: every number a card states must
occur in the product's facts (name, brand, category, description, attributes; never SKU or barcode).

``1,5`` and ``1.5`` are the same number, ``1 000`` is ``1000``; a model code (``A15``, ``3A011``: a
letter directly followed by a digit) must appear whole, with Cyrillic look-alike letters folded. Used
by card validation (:mod:`aimanager.domain.validate`) and by the narrative path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation

from aimanager.domain.cards import ProductFacts

# A number: digits with optional space-grouped thousands and an optional , or . decimal part.
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[ \u00a0\u202f]\d{3}(?!\d))*(?:[.,]\d+)?")
# A model code: a word where a letter is directly followed by a digit ("A15", "3A011", "TWK3"). It is
# checked as a whole word, so the digits inside a code never license or fail a number on their own.
_CODE = re.compile(r"\b\w*[^\W\d_]\d\w*\b")
# "250x220x160" / "30 × 20" are numbers joined by a dimension sign, not a model code.
_DIM_SIGN = re.compile(r"(?<=\d)\s*[xXхХ×*]\s*(?=\d)")
# Cyrillic letters that look like Latin ones: a code typed with either script is the same code.
_HOMOGLYPHS = str.maketrans("авекмнорстухАВЕКМНОРСТУХ", "abekmhopctyxABEKMHOPCTYX")
_LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)]\s+", re.MULTILINE)
_DIGIT = re.compile(r"\d")


def facts_text(facts: ProductFacts) -> str:
    """The text a card may take facts from (SKU and barcode excluded on purpose)."""
    parts = [facts.name, facts.brand or "", facts.category or "", facts.description or ""]
    for key, value in facts.attributes.items():
        parts.extend((key, value))
    return "\n".join(parts)


def normalise_number(token: str) -> str:
    """Canonical text of a number: ``"1,50"`` → ``"1.5"``, ``"1 000"`` → ``"1000"``, ``"05"`` → ``"5"``."""
    raw = re.sub(r"[ \u00a0\u202f]", "", token).replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return raw
    return format(value.normalize(), "f")


def _prepare(text: str) -> str:
    return _DIM_SIGN.sub(" ", text)


def _code_key(code: str) -> str:
    return code.translate(_HOMOGLYPHS).lower()


def codes_in(text: str) -> set[str]:
    """Model codes in ``text`` (words with a letter directly followed by a digit), script-folded."""
    return {_code_key(m.group(0)) for m in _CODE.finditer(_prepare(text))}


def numbers_in(text: str) -> set[str]:
    """Every number in ``text`` outside model codes, normalised; grouped numbers count by parts too."""
    found: set[str] = set()
    for m in _NUMBER.finditer(_CODE.sub(" ", _prepare(text))):
        token = m.group(0)
        found.add(normalise_number(token))
        if re.search(r"[ \u00a0\u202f]", token):
            found.update(normalise_number(p) for p in re.split(r"[ \u00a0\u202f]", token))
    return found


def unsupported_numbers(
    text: str, allowed: AbstractSet[str], codes: AbstractSet[str] | None = None
) -> list[str]:
    """Numbers and model codes in ``text`` that are not in ``allowed``/``codes``, in order of appearance.

    List markers ("1. ", "2) ") are ignored; ``codes=None`` skips the model-code check.
    """
    if not _DIGIT.search(text):
        return []  # a number and a model code both need a digit
    text = _prepare(_LIST_MARKER.sub("", text))
    bad: list[str] = []
    for m in _CODE.finditer(text):
        if codes is not None and _code_key(m.group(0)) not in codes and m.group(0) not in bad:
            bad.append(m.group(0))
    for m in _NUMBER.finditer(_CODE.sub(" ", text)):
        token = m.group(0)
        value = normalise_number(token)
        if value in allowed:
            continue
        parts = re.split(r"[ \u00a0\u202f]", token)
        if len(parts) > 1 and all(normalise_number(p) in allowed for p in parts):
            continue  # "2 300" written for "2 pieces of 300 ml"
        if value not in bad:
            bad.append(value)
    return bad


@functools.lru_cache(maxsize=256)
def facts_numbers(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """:func:`numbers_in` and :func:`codes_in` of a facts text, kept for the next check of the card."""
    return frozenset(numbers_in(source)), frozenset(codes_in(source))


# ``draft_errors`` and the caller's validator check the same fields against the same facts: the second
# look at a field is a hit.
@functools.lru_cache(maxsize=4096)
def _unsupported(text: str, allowed: frozenset[str], codes: frozenset[str]) -> tuple[str, ...]:
    return tuple(unsupported_numbers(text, allowed, codes))


def number_error(where: str, text: str, allowed: frozenset[str], codes: frozenset[str]) -> str | None:
    """The one rule for numbers: every number and model code in ``text`` must occur in the facts.

    ``allowed`` and ``codes`` are :func:`facts_numbers` of :func:`facts_text`.
    """
    bad = _unsupported(text, allowed, codes)
    return f"{where}: number(s) {', '.join(bad)} not in the product facts" if bad else None
