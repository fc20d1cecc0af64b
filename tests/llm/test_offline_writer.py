"""The offline writer (the demo's model with no key): real Uzbek for what it knows, proper
transliteration of Uzbek Cyrillic, Russian cards for Uzbek input, readable narratives — and cards that
pass the validator for every marketplace on the lab's sample catalog."""

from __future__ import annotations

import json

import pytest

from aimanager.domain.cards import ProductFacts
from aimanager.domain.enums import Marketplace
from aimanager.domain.fact_numbers import numbers_in, unsupported_numbers
from aimanager.domain.uzbek import OKINA, has_cyrillic, russian_evidence, uzbek_errors
from aimanager.domain.validate import draft_errors, validate_card
from aimanager.llm.narrative_flow import narrative_errors
from aimanager.llm.offline import is_uzbek_input, write_card, write_narrative
from aimanager.llm.prompts import prepare_facts
from aimanager.pipelines.catalog.rows import ProductRow
from aimanager_lab.sample_catalog import generate_catalog


def sample_facts(partners: int, skus: int, seed: int) -> list[ProductFacts]:
    out = []
    for row in generate_catalog(partners=partners, skus=skus, seed=seed):
        p = ProductRow.model_validate({k: v for k, v in row.items() if k in ProductRow.model_fields and v})
        facts = ProductFacts(
            sku=p.sku,
            name=p.name,
            brand=p.brand,
            category=p.category,
            barcode=p.barcode,
            description=p.description,
            attributes=p.attributes,
        )
        out.append(prepare_facts(facts).facts)  # what the gateway hands the writer
    return out


@pytest.mark.parametrize("seed", [42, 7])
def test_sample_catalog_cards_pass_every_marketplace(seed: int) -> None:
    facts_list = sample_facts(3, 40, seed)
    for facts in facts_list:
        draft = write_card(facts)
        assert draft_errors(facts, draft) == [], (facts.name, draft_errors(facts, draft))
        for mp in Marketplace:
            assert validate_card(mp, facts, draft) == [], (mp, facts.name, validate_card(mp, facts, draft))


def test_uzbek_is_uzbek_not_transliterated_russian() -> None:
    for facts in sample_facts(1, 16, 42):
        uz = write_card(facts).uz
        text = "\n".join([uz.title, uz.description, *uz.bullets, *uz.keywords])
        assert not has_cyrillic(text)
        evidence = russian_evidence(text)
        assert evidence.russian == 0 and evidence.uzbek >= 10, (facts.name, evidence)
        assert "Asosiy xususiyatlari" in uz.description and "ishlab chiqarilgan mamlakat" in uz.description
        for russian in ("Strana", "proizvodstva", "Tsvet", "Ves,", "Xarakteristiki", "Kategoriya"):
            assert russian not in text, (russian, text)


def test_glossary_words_and_word_order() -> None:
    facts = ProductFacts(
        sku="K-1",
        name="Чайник электрический Bosch TWK-1700, 1,7 л",
        brand="Bosch",
        category="Электрочайники",
        attributes={"Цвет": "белый", "Страна производства": "Китай", "Материал корпуса": "сталь"},
    )
    uz = write_card(facts).uz
    assert uz.title == "Elektr choynak Bosch TWK-1700, 1,7 l"
    assert "Toifasi: Elektr choynaklar." in uz.description
    assert "rangi — oq" in uz.description and "ishlab chiqarilgan mamlakat — Xitoy" in uz.description
    assert f"korpus materiali — po{OKINA}lat" in uz.description
    assert "Rangi: oq" in uz.bullets and "choynak" in uz.keywords


def test_uzbek_cyrillic_input_is_transliterated_and_the_russian_card_is_russian() -> None:
    facts = ProductFacts(
        sku="N-1",
        name="Самарқанд нони, 500 г",
        brand="Ҳосил",
        category="Нон маҳсулотлари",
        description="Тандирда ёпилган ғалла нони.",
        attributes={"Ранги": "оқ", "Вазни, г": "500", "Ишлаб чиқарилган мамлакат": "Ўзбекистон"},
    )
    assert is_uzbek_input(facts)
    draft = write_card(facts)
    uz = "\n".join([draft.uz.title, draft.uz.description, *draft.uz.bullets])
    assert draft.uz.title == "Hosil Samarqand noni, 500 g"  # not "Samarand": қ/ғ/ў/ҳ are kept
    assert "Hosil" in uz and f"Tandirda yopilgan g{OKINA}alla noni." in uz and f"O{OKINA}zbekiston" in uz
    assert uzbek_errors("uz", uz) == []
    ru = draft.ru
    for russian in ("Характеристики: ", "Цвет: белый", "Вес, г: 500", "Страна производства: Узбекистан"):
        assert russian in ru.description, (russian, ru.description)
    assert ru.title.startswith("Товар ") and "Самарқанд нони" in ru.title  # Russian around the name
    assert draft_errors(facts, draft) == []


def test_uzbek_latin_input_gets_a_russian_card() -> None:
    facts = ProductFacts(
        sku="A-1",
        name="Elektr choynak Artel, 1,7 l",
        brand="Artel",
        attributes={"Rangi": "oq", "Ishlab chiqarilgan mamlakat": f"O{OKINA}zbekiston"},
    )
    assert is_uzbek_input(facts)
    draft = write_card(facts)
    assert draft.ru.title == "Электрочайник Artel, 1,7 л"
    assert "Цвет: белый" in draft.ru.bullets and "Страна производства: Узбекистан" in draft.ru.bullets
    assert draft.uz.title == "Elektr choynak Artel, 1,7 l"
    assert draft_errors(facts, draft) == []


def test_russian_input_is_not_taken_for_uzbek() -> None:
    assert not is_uzbek_input(ProductFacts(sku="x", name="Чайник Bosch", description="Удобный чайник."))


NARRATIVE_FACTS = {
    "revenue": "12500000.00",
    "currency": "UZS",
    "units": 340,
    "margin": "2100000.00",
    "margin_pct": "16.8",
    "a_class_skus": 7,
    "top_products": "Чайник электрический Bosch TWK-1700, 1,7 л, Кружка керамическая Hoff Loft, 450 мл",
    "out_of_stock_skus": 2,
    "low_stock_skus": 5,
    "dearer_than_competitor": 3,
    "ai_spend_usd": "0.0421",
}


def test_narrative_is_sentences_in_russian_and_uzbek() -> None:
    texts = write_narrative(NARRATIVE_FACTS)
    assert narrative_errors(texts, NARRATIVE_FACTS, ("ru", "uz")) == []
    allowed = numbers_in(json.dumps(NARRATIVE_FACTS, ensure_ascii=False))
    for lang in ("ru", "uz"):
        assert unsupported_numbers(texts[lang], allowed) == [], texts[lang]
        # Sentences, not the old English "Key: value" dump.
        assert "_" not in texts[lang] and "Revenue" not in texts[lang] and "Margin pct" not in texts[lang]
        assert texts[lang].count(". ") >= 8
    assert "Выручка за период — 12500000.00 UZS." in texts["ru"] and "Маржинальность — 16.8 %." in texts["ru"]
    assert "Davr uchun tushum — 12500000.00 UZS." in texts["uz"]
    assert (
        f"Eng ko{OKINA}p sotilgan mahsulotlar: Elektr choynak Bosch TWK-1700, 1,7 l, Keramik krujka"
        in texts["uz"]
    )
    assert has_cyrillic(texts["ru"]) and not has_cyrillic(texts["uz"])


def test_narrative_languages_and_unknown_metrics() -> None:
    texts = write_narrative({"orders": 12, "returns": 1}, ("uz",))
    assert (
        texts["ru"] == ""
        and texts["uz"]
        == f"Davr yakunlari. «orders» ko{OKINA}rsatkichi: 12. «returns» ko{OKINA}rsatkichi: 1."
    )
    assert write_narrative({})["ru"] == "За период данных нет."
