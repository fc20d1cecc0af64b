"""Uzbek: the official Cyrillic → Latin alphabet, and Russian in Latin letters caught as not-Uzbek."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts
from aimanager.domain.enums import Marketplace as M
from aimanager.domain.uzbek import (
    OKINA,
    TUTUQ,
    has_cyrillic,
    normalise_apostrophes,
    russian_evidence,
    to_latin,
    uzbek_errors,
)
from aimanager.domain.validate import draft_errors, validate_card
from tests.domain.uzbek_corpus import GENUINE_UZBEK, RUSSIAN_IN_LATIN

KNOWN = {
    "Самарқанд": "Samarqand",
    "Ўзбекистон": f"O{OKINA}zbekiston",
    "ғалла": f"g{OKINA}alla",
    "Фарғона": f"Farg{OKINA}ona",
    "Тошкент": "Toshkent",
    "Хоразм": "Xorazm",
    "Ҳамза": "Hamza",
    "шаҳар": "shahar",
    "Шаҳар": "Shahar",
    "ШАҲАР": "SHAHAR",
    "ЎЗБЕКИСТОН": f"O{OKINA}ZBEKISTON",
    "қўл": f"qo{OKINA}l",
    "чой": "choy",
    "ЧОЙ": "CHOY",
    "ер": "yer",  # е at the start of a word
    "Елка": "Yelka",
    "поезд": "poyezd",  # е after a vowel
    "съезд": f"s{TUTUQ}yezd",  # ъ is ʼ, е after it is ye
    "объект": f"ob{TUTUQ}yekt",
    "эълон": f"e{TUTUQ}lon",
    "маъно": f"ma{TUTUQ}no",
    "ёз": "yoz",
    "юлдуз": "yulduz",
    "япроқ": "yaproq",
    "цирк": "sirk",  # ц is s …
    "концерт": "konsert",
    "милиция": "militsiya",  # … and ts between vowels
    "мактаб": "maktab",
    "Ўзбекистон Республикаси": f"O{OKINA}zbekiston Respublikasi",
    "Bosch чойнаги, 1,7 л": "Bosch choynagi, 1,7 l",
}


@pytest.mark.parametrize(("cyrillic", "latin"), KNOWN.items())
def test_known_words(cyrillic: str, latin: str) -> None:
    assert to_latin(cyrillic) == latin


def test_uzbek_letters_are_not_dropped() -> None:
    """Issue 11: the old writer dropped қ/ғ/ў/ҳ ("Самарқанд" → "Samarand")."""
    for letter, latin in {"қ": "q", "ғ": f"g{OKINA}", "ў": f"o{OKINA}", "ҳ": "h"}.items():
        assert to_latin(f"а{letter}а") == f"a{latin}a"


@given(st.text(alphabet=st.characters(min_codepoint=0x0400, max_codepoint=0x052F)) | st.text())
def test_no_cyrillic_is_left(text: str) -> None:
    assert not has_cyrillic(to_latin(text))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x03FF)))
def test_latin_text_is_unchanged(text: str) -> None:
    assert to_latin(text) == text


@given(st.text())
def test_idempotent(text: str) -> None:
    once = to_latin(text)
    assert to_latin(once) == once


def test_apostrophes_normalised() -> None:
    assert normalise_apostrophes("o'zbek g`alla qo’l ma'no") == (
        f"o{OKINA}zbek g{OKINA}alla qo{OKINA}l ma{TUTUQ}no"
    )


@pytest.mark.parametrize("text", GENUINE_UZBEK)
def test_genuine_uzbek_passes(text: str) -> None:
    evidence = russian_evidence(text)
    assert not evidence.is_russian, evidence
    assert uzbek_errors("uz.description", text) == []


@pytest.mark.parametrize("text", RUSSIAN_IN_LATIN)
def test_russian_in_latin_letters_is_caught(text: str) -> None:
    errors = uzbek_errors("uz.description", text)
    assert len(errors) == 1 and "Russian in Latin letters" in errors[0], text
    # The message names the words that gave it away, and they are words of the text.
    named = errors[0].split("Russian words: ")[1].split(";")[0].split(", ")
    assert named and all(word in text for word in named)


def test_message_names_the_words() -> None:
    [error] = uzbek_errors("uz.title", "Strana proizvodstva: Kitay, tsvet belyy")
    assert error.startswith("uz.title: reads as Russian in Latin letters")
    assert "Strana" in error and "proizvodstva" in error and "belyy" in error


def test_cyrillic_uzbek_is_rejected_with_the_words() -> None:
    [error] = uzbek_errors("uz.title", "Электр чойнак Bosch")
    assert "Latin script" in error and "Электр" in error and "чойнак" in error
    assert uzbek_errors("uz.title", "") == []


def test_brand_and_model_names_from_the_facts_are_not_scored() -> None:
    text = "Kukmara Granit skovoroda, Optima seriyasi"  # "skovoroda" is a Russian loan …
    assert not russian_evidence(text).is_russian  # … but one borrowed word is not enough
    names = ["Dlya", "Vsekh"]  # a seller's Latin brand that looks Russian
    assert russian_evidence("Dlya Vsekh krujkasi, rangi oq", names).russian == 0


FACTS = ProductFacts(
    sku="K-1",
    name="Чайник электрический Bosch TWK 3A011 1,7 л",
    brand="Bosch",
    category="Чайники",
    attributes={"Страна производства": "Китай", "Цвет": "белый", "ИКПУ": "08516001001000000"},
)
RU = LocalizedCard(
    title="Чайник электрический Bosch TWK 3A011, 1,7 л",
    description="Электрический чайник Bosch объёмом 1,7 л с автоотключением.",
    bullets=["Объём 1,7 л"],
    keywords=["чайник"],
)
UZ_GOOD = LocalizedCard(
    title="Elektr choynak Bosch TWK 3A011, 1,7 l",
    description="Bosch elektr choynagi, hajmi 1,7 l. Ishlab chiqarilgan mamlakat: Xitoy, rangi oq.",
    bullets=["Hajmi 1,7 l", "Rangi oq"],
    keywords=["choynak", "elektr choynak"],
)
UZ_RUSSIAN = LocalizedCard(
    title="Chaynik elektricheskiy Bosch TWK 3A011",
    description="Elektricheskiy chaynik Bosch, obyom 1,7 l. Strana proizvodstva: Kitay, tsvet belyy.",
    bullets=["Obyom 1,7 l", "Tsvet belyy"],
    keywords=["chaynik", "elektrochaynik"],
)


def test_validator_rejects_russian_in_latin_letters_where_uzbek_is_needed() -> None:
    good = CardDraft(ru=RU, uz=UZ_GOOD)
    assert draft_errors(FACTS, good) == []
    bad = CardDraft(ru=RU, uz=UZ_RUSSIAN)
    for mp in (M.UZUM, M.YANDEX):
        errors = validate_card(mp, FACTS, bad)
        assert any("uz.title: reads as Russian" in e for e in errors), errors
        assert any("uz.description: reads as Russian" in e and "proizvodstva" in e for e in errors)
    assert any("uz.bullets: reads as Russian" in e for e in validate_card(M.UZUM, FACTS, bad))
    assert not [e for e in validate_card(M.WILDBERRIES, FACTS, bad) if "uz." in e]  # WB takes ru only
    assert any("uz.description: reads as Russian" in e for e in draft_errors(FACTS, bad))


def test_validator_rejects_cyrillic_uzbek_per_field() -> None:
    bad = CardDraft(
        ru=RU, uz=UZ_GOOD.model_copy(update={"description": "Bosch электр чойнаги, ҳажми 1,7 л."})
    )
    errors = validate_card(M.UZUM, FACTS, bad)
    assert any(e.startswith("uzum: uz.description: Uzbek must be in the Latin script") for e in errors)
    assert any("uz.description" in e and "Latin script" in e for e in draft_errors(FACTS, bad))
