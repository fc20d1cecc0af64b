"""Card validation: marketplace rules plus the checks that keep generated text honest.

Every error is one readable line; an empty list means the card may be pushed. The LLM gateway accepts a
draft only when :func:`draft_errors` (checks for any marketplace) and then the caller's
:func:`validator_for` return no errors; otherwise it re-asks the item alone, then escalates it once.

Checks (sources: marketplace-apis.md §2.4, §3.3, §4.4, §5.3; seller-tools.md §1.3 and §6 — the
market's known failure mode is *hallucinated attributes*, so every claim must cite a fact):

* lengths, languages, required attributes, forbidden words per :mod:`aimanager.domain.rules`;
* **numbers**: every number in the card text and attribute values must occur in the product's facts
  (name, brand, category, description, attribute names and values). ``1,5`` and ``1.5`` are the same
  number, ``1 000`` is ``1000``; a number with a unit (``2 шт``) passes only if the number is in the
  facts. Model codes (``A15``, ``3A011``: a letter directly followed by a digit) must appear whole
  in the facts. SKU and barcode are not sources: a model number hidden in a SKU is not a product fact;
* **claims**: certification, hypoallergenic, waterproof, natural/organic, guarantee, "best"/"№1" and
  similar words pass only if the facts say so;
* Uzbek that is Uzbek: the Latin script, and not Russian in Latin letters (:mod:`aimanager.domain.uzbek`);
* in every language: no phone numbers, links, e-mails, messenger handles, contact invitations or
  promotional bait (:mod:`aimanager.domain.content`), no prompt-injection or model-chatter residue
  ("ignore previous instructions", "забудь инструкции", "as an AI");
* no HTML or Markdown, no control characters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts
from aimanager.domain.content import (
    Licence,
    content_rule_errors,
    injection_error,
    licence_for,
    may_break_rules,
    rules_free,
)
from aimanager.domain.enums import Marketplace
from aimanager.domain.fact_numbers import facts_numbers, facts_text, number_error
from aimanager.domain.rules import RULES, canonical_attributes, fit_title
from aimanager.domain.uzbek import uzbek_errors

Validator = Callable[[ProductFacts, CardDraft], list[str]]

# Every draft is written once for all marketplaces, so its titles must fit the strictest (Wildberries).
MAX_TITLE = min(rules.title_max for rules in RULES.values())

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:[a-z]+|#\d+);", re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|```|^\s{0,3}#{1,6}\s|\[[^\]]+\]\([^)]+\)", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_CAPS_WORD = re.compile(r"\b[A-ZА-ЯЁ]{4,}\b")
_TAG_START = re.compile(r"<[a-zA-Z/!]")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_LATIN_WORD = re.compile(r"[^\W\d_]+(?:['`\u2018\u2019\u02bb\u02bc][^\W\d_]+)*")

# Claim words (stems, lower case) and the fact stems that license them. A claim in ru or uz text is
# allowed only when one of its licensing stems appears in the facts text.
CLAIMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("гипоаллерген", ("гипоаллерген", "hypoallergen", "gipoallergen")),
    ("gipoallergen", ("гипоаллерген", "hypoallergen", "gipoallergen")),
    ("водонепроница", ("водонепроница", "waterproof", "ip6", "ip5")),
    ("водостойк", ("водостойк", "водонепроница", "waterproof", "ip6", "ip5")),
    ("suv o", ("водонепроница", "водостойк", "waterproof", "suv o")),
    ("сертифиц", ("сертифи", "certif")),
    ("sertifika", ("сертифи", "certif", "sertifika")),
    ("гарант", ("гарант", "warranty", "kafolat")),
    ("kafolat", ("гарант", "warranty", "kafolat")),
    ("натуральн", ("натуральн", "natural", "tabiiy")),
    ("tabiiy", ("натуральн", "natural", "tabiiy")),
    ("органич", ("органич", "organic", "organik")),
    ("organik", ("органич", "organic", "organik")),
    ("экологичн", ("эколог", "eco")),
    ("эко-", ("эко", "eco")),
    ("антибактериальн", ("антибактериальн", "antibacter")),
    ("лечеб", ("лечеб", "медицин")),
    ("медицинск", ("медицин",)),
    ("оригинал", ("оригинал", "original")),
    ("лучш", ()),
    ("№1", ()),
    ("номер один", ()),
    ("eng yaxshi", ()),
)


def draft_errors(facts: ProductFacts, draft: CardDraft) -> list[str]:
    """Checks every draft passes before it is accepted, whatever model wrote it (empty list = acceptable).

    These hold for any marketplace (marketplace rules come from :func:`validator_for`): titles within
    :data:`MAX_TITLE` and not empty, a description, no HTML, the number rule of :func:`number_error`, a
    Russian title that names the product, and in both languages the rules of :func:`language_errors`
    (no contacts, links, promotion or injected instructions; Uzbek that is Uzbek, in the Latin script).
    """
    problems: list[str] = []
    for lang in ("ru", "uz"):
        card: LocalizedCard = getattr(draft, lang)
        text = _card_text(card)
        if not card.title.strip():
            problems.append(f"{lang}: empty title")
        if len(card.title) > MAX_TITLE:
            problems.append(f"{lang}: title is {len(card.title)} chars (max {MAX_TITLE})")
        if not card.description.strip():
            problems.append(f"{lang}: empty description")
        if "<" in text and _TAG_START.search(text):
            problems.append(f"{lang}: contains HTML")
    allowed, codes = facts_numbers(facts_text(facts))
    for lang in ("ru", "uz"):
        for field, text in _fields(getattr(draft, lang)):
            if problem := number_error(f"{lang}.{field}", text, allowed, codes):
                problems.append(problem)
    for key, value in draft.attributes.items():
        if problem := number_error(f"attributes[{key[:40]}]", value, allowed, codes):
            problems.append(problem)
    problems.extend(language_errors(facts, draft, ("ru", "uz")))
    # Grounding: the Russian title must name this product. A card written for another item of the pack
    # (a model confused by injected text) fails here and is re-asked alone.
    own_words = {w.lower() for w in _WORD.findall(f"{facts.name} {facts.brand or ''}")}
    title_words = {w.lower() for w in _WORD.findall(draft.ru.title)}
    if own_words and not own_words & title_words:
        problems.append("ru: title does not name the product")
    return _dedupe(problems)


def latin_names(facts: ProductFacts) -> frozenset[str]:
    """Latin words the facts already carry (brands, model names, a seller's own Latin text): a card may
    repeat them in its Uzbek text without them counting as Russian or Uzbek."""
    words = _LATIN_WORD.findall(facts_text(facts))
    return frozenset(w.lower() for w in words if not _CYRILLIC.search(w))


def language_errors(facts: ProductFacts, draft: CardDraft, languages: Sequence[str]) -> list[str]:
    """Rules on the text of ``languages`` and on attribute values that hold in every language.

    No phone numbers, links, messenger handles, contact invitations or promotional bait
    (:mod:`aimanager.domain.content`); no instruction or model-chatter residue; ``uz`` in the Latin
    script and not Russian in Latin letters (:mod:`aimanager.domain.uzbek`).
    """
    fields = tuple(
        (f"{lang}.{f}", t)
        for lang in ("ru", "uz")
        if lang in languages
        for f, t in _fields(getattr(draft, lang))
    ) + tuple((f"attributes[{k[:40]}]", f"{k}: {v}") for k, v in draft.attributes.items())
    uz = draft.uz
    # Bullets and keywords are short: scored together so a list of Russian words adds up.
    uz_fields = (
        (
            ("title", uz.title),
            ("description", uz.description),
            ("bullets", "\n".join(uz.bullets)),
            ("keywords", "\n".join(uz.keywords)),
        )
        if "uz" in languages
        else ()
    )
    return list(_language_errors(fields, uz_fields, licence_for(facts), latin_names(facts)))


# The gateway checks a draft with ``draft_errors`` and then with the caller's validator, which runs these
# checks again on the same text (with the facts before hygiene, usually the same): the second is a hit.
@functools.lru_cache(maxsize=64)
def _language_errors(
    fields: tuple[tuple[str, str], ...],
    uz_fields: tuple[tuple[str, str], ...],
    licence: Licence,
    names: frozenset[str],
) -> tuple[str, ...]:
    errors: list[str] = []
    texts = [t for _, t in fields]
    # Most cards are clean: one cheap look, then an exact one over all fields, not fifty scans.
    if may_break_rules("\n".join(texts)) and not rules_free(texts):
        for where, text in fields:
            errors.extend(_safety_errors(where, text, licence))
    for field, text in uz_fields:
        errors.extend(uzbek_errors(f"uz.{field}", text, names))
    return tuple(errors)


def content_errors(facts: ProductFacts, draft: CardDraft, languages: Sequence[str]) -> list[str]:
    """Checks that do not depend on the marketplace: honesty, script, markup, contacts, injection."""
    errors: list[str] = []
    source = facts_text(facts)
    allowed, codes = facts_numbers(source)
    source_lower = source.lower()
    licensed: dict[str, bool] = {}
    for lang in ("ru", "uz"):
        if lang not in languages:
            continue
        card: LocalizedCard = getattr(draft, lang)
        fields = _fields(card)
        # Every claim match contains its stem: most cards name none, and need no scan field by field.
        lowered = "\n".join(t for _, t in fields).lower()
        claims = any(claim in lowered for claim in _LICENCES)
        for field, text in fields:
            where = f"{lang}.{field}"
            errors.extend(_markup_errors(where, text))
            if problem := number_error(where, text, allowed, codes):
                errors.append(problem)
            if claims:
                errors.extend(_claim_errors(where, text, source_lower, licensed))
        if not card.title.strip():
            errors.append(f"{lang}.title: empty")
        if not card.description.strip():
            errors.append(f"{lang}.description: empty")
    if "ru" in languages and draft.ru.description.strip() and not _CYRILLIC.search(draft.ru.description):
        errors.append("ru.description: Russian text has no Cyrillic letters")
    for key, value in draft.attributes.items():
        where = f"attributes[{key[:40]}]"
        errors.extend(_markup_errors(where, f"{key} {value}"))
        if problem := number_error(where, value, allowed, codes):
            errors.append(problem)
    errors.extend(language_errors(facts, draft, languages))
    return errors


@functools.lru_cache(maxsize=32)
def _forbidden_patterns(
    words: tuple[str, ...],
) -> tuple[re.Pattern[str] | None, tuple[tuple[str, re.Pattern[str]], ...]]:
    """One pattern per forbidden word, and their alternation to skip clean fields in one scan.

    A stem ending in "*" takes any ending; otherwise whole words only.
    """
    out = []
    for word in words:
        stem = word.rstrip("*")
        tail = r"\w*" if word.endswith("*") else r"(?!\w)"
        out.append((stem, re.compile(rf"(?<!\w){re.escape(stem)}{tail}")))
    combined = re.compile("|".join(p.pattern for _, p in out)) if out else None
    return combined, tuple(out)


def marketplace_errors(marketplace: Marketplace, facts: ProductFacts, draft: CardDraft) -> list[str]:
    """Rules of one marketplace: lengths, languages, required attributes, forbidden words."""
    rules = RULES[marketplace]
    errors: list[str] = []
    for lang in rules.languages:
        card: LocalizedCard = getattr(draft, lang)
        title = " ".join(card.title.split())
        cut, was_cut = fit_title(title, rules.title_max)
        # A cut that keeps less than half the title, or under the minimum words, loses the product.
        if was_cut and (len(cut) < rules.title_max // 2 or len(cut.split()) < rules.title_min_words):
            errors.append(
                f"{lang}.title: {len(title)} characters, limit {rules.title_max}, cannot be shortened cleanly"
            )
        if title and len(title.split()) < rules.title_min_words:
            errors.append(f"{lang}.title: at least {rules.title_min_words} words required")
        desc_len = len(card.description.strip())
        if desc_len > rules.description_max:
            errors.append(f"{lang}.description: {desc_len} characters, limit {rules.description_max}")
        elif 0 < desc_len < rules.description_min:
            errors.append(f"{lang}.description: {desc_len} characters, at least {rules.description_min}")
        source = facts_text(facts)
        source_lower = source.lower()
        any_forbidden, forbidden = _forbidden_patterns(tuple(rules.forbidden_words))
        fields = _fields(card)
        # Every match contains its stem: a card none of whose fields has one needs no scan at all.
        joined = "\n".join(t for _, t in fields).lower()
        if any_forbidden is not None and not any(stem in joined for stem, _ in forbidden):
            any_forbidden = None
        for field, text in fields:
            lowered = text.lower()
            if any_forbidden is not None and any_forbidden.search(lowered):
                for stem, pattern in forbidden:
                    # The product's own name may contain one (a "Подарочный набор", a brand "New
                    # Balance"): facts license it.
                    if pattern.search(lowered) and not pattern.search(source_lower):
                        errors.append(f"{lang}.{field}: forbidden word «{stem}»")
            if rules.no_caps_words and field == "title":  # YM §5.3: a rule for the name
                allowed_caps = {w.upper() for w in re.findall(r"\w+", source)}
                caps = [w for w in _CAPS_WORD.findall(text) if w not in allowed_caps]
                if caps:
                    errors.append(f"{lang}.{field}: ALL CAPS words not allowed ({', '.join(caps[:3])})")
    canon = canonical_attributes(facts, draft)
    missing = [k for k in rules.required_attributes if not canon.get(k, "").strip()]
    if missing:
        errors.append(f"attributes: required {', '.join(missing)} missing")
    if len(canon) < rules.min_attributes:
        errors.append(f"attributes: at least {rules.min_attributes} characteristics required")
    return errors


def validate_card(marketplace: Marketplace, facts: ProductFacts, draft: CardDraft) -> list[str]:
    """All errors of ``draft`` for ``marketplace``, each prefixed with the marketplace; [] = valid."""
    rules = RULES[marketplace]
    errs = content_errors(facts, draft, rules.languages) + marketplace_errors(marketplace, facts, draft)
    return [f"{marketplace.value}: {e}" for e in _dedupe(errs)]


def validator_for(marketplaces: Iterable[Marketplace]) -> Validator:
    """One validator for a product sold on several marketplaces (the gateway's escalation test).

    Content checks run once over the union of languages; marketplace rules run per marketplace and
    their errors carry its name.
    """
    mps = tuple(dict.fromkeys(marketplaces))
    languages = tuple(sorted({lang for mp in mps for lang in RULES[mp].languages}, key=["ru", "uz"].index))

    def validate(facts: ProductFacts, draft: CardDraft) -> list[str]:
        errors = content_errors(facts, draft, languages or ("ru",))
        for mp in mps:
            errors.extend(f"{mp.value}: {e}" for e in marketplace_errors(mp, facts, draft))
        return _dedupe(errors)

    return validate


def _fields(card: LocalizedCard) -> list[tuple[str, str]]:
    out = [("title", card.title), ("description", card.description)]
    out += [(f"bullets[{i}]", b) for i, b in enumerate(card.bullets)]
    out += [(f"keywords[{i}]", k) for i, k in enumerate(card.keywords)]
    return out


def _card_text(card: LocalizedCard) -> str:
    return "\n".join([card.title, card.description, *card.bullets, *card.keywords])


def _markup_errors(where: str, text: str) -> list[str]:
    errors: list[str] = []
    if _HTML.search(text):
        errors.append(f"{where}: HTML markup is not allowed")
    if _MARKDOWN.search(text):
        errors.append(f"{where}: Markdown markup is not allowed")
    if _CONTROL.search(text):
        errors.append(f"{where}: control characters are not allowed")
    return errors


def _safety_errors(where: str, text: str, licence: Licence) -> list[str]:
    errors = content_rule_errors(where, text, licence)
    if problem := injection_error(where, text):
        errors.append(problem)
    return errors


# One alternation for every claim stem: a card field is scanned once, not once per claim.
_CLAIM_RE = re.compile("|".join(rf"(?<!\w){re.escape(claim)}" for claim, _ in CLAIMS))
_LICENCES = dict(CLAIMS)


def _claim_errors(where: str, text: str, source_lower: str, licensed: dict[str, bool]) -> list[str]:
    """``licensed`` remembers, per claim, whether the facts license it (asked once per card, not per
    field: the facts text is long)."""
    lowered = text.lower()
    errors = []
    for claim in dict.fromkeys(m.group(0) for m in _CLAIM_RE.finditer(lowered)):
        if claim not in licensed:
            licensed[claim] = any(s in source_lower for s in _LICENCES[claim])
        if not licensed[claim]:
            errors.append(f"{where}: claim «{claim}…» is not supported by the product facts")
    return errors


def _dedupe(errors: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(errors))
