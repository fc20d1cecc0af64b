"""Infographic renders: size, format, text inside the frame, glyphs present (Cyrillic, oʻ gʻ)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from aimanager.domain.images import RULES, infographic_lines, rule_problems
from aimanager.media.errors import BadImage
from aimanager.media.imaging import decode
from aimanager.media.render import clean_photo, font, infographic, missing_glyphs
from tests.images import photos

FACTS = {
    "Цвет": "синий",
    "Материал": "керамика",
    "Объём, мл": "350",
    "Вес, г": "420",
    "Размер": "12 × 9 × 10 см",
    "brand": "Qulay",
}
TITLE_RU = "Кружка керамическая Qulay 350 мл с толстыми стенками"
TITLE_UZ = "Qulay sopol krujkasi 350 ml, qalin devorli, oʻgʻir emas"


@pytest.mark.parametrize("market", list(RULES))
def test_every_marketplace_gets_its_size_and_format_with_text_inside_the_frame(market) -> None:  # type: ignore[no-untyped-def]
    rule = RULES[market]
    for lang in rule.languages:
        lines = infographic_lines(FACTS, lang)
        drawn = infographic(
            photos.mug(), rule.width, rule.height, TITLE_UZ if lang == "uz" else TITLE_RU, lines
        )
        decoded = decode(drawn.data)
        assert (decoded.info.format, decoded.info.width, decoded.info.height) == (
            "JPEG",
            rule.width,
            rule.height,
        )
        assert rule_problems(decoded.info, rule) == []
        texts = [text for text, _ in drawn.boxes]
        for label, value in lines:
            assert label in texts and value in texts  # every fact is drawn, whole
        margin = round(rule.width * 0.05)
        for text, (x0, y0, x1, y1) in drawn.boxes:
            assert margin <= x0 < x1 <= rule.width - margin, (text, x0, x1)
            assert margin <= y0 < y1 <= rule.height - margin, (text, y0, y1)
            # Something dark was really drawn where the text is said to be.
            crop = decoded.image.crop((x0, y0, x1, y1)).convert("L")
            assert min(crop.tobytes()) < 140, text


def test_uzbek_labels_draw_the_turned_comma_not_a_missing_glyph_box() -> None:
    assert missing_glyphs("Oʻlchami Ogʻirligi oʻ gʻ Ўзбекистон ЁЖЩЪ қғҳў") == []
    face = font(60)
    # U+02BB has its own shape: "oʻ" differs from "o" and from the font's missing-glyph box.
    with_mark, without, box = face.getmask("oʻ"), face.getmask("o"), face.getmask("\uffff")
    assert with_mark.size != without.size
    assert bytes(face.getmask("ʻ")) != bytes(box)
    labels = [label for label, _ in infographic_lines(FACTS, "uz")]
    assert "Ogʻirligi, g" in labels and "Oʻlchami" in labels
    drawn = infographic(photos.mug(), 1080, 1440, TITLE_UZ, infographic_lines(FACTS, "uz"))
    assert "Ogʻirligi, g" in [text for text, _ in drawn.boxes]


def test_a_character_without_a_glyph_is_refused_rather_than_drawn_as_a_box() -> None:
    assert missing_glyphs("中文") == ["中", "文"]
    with pytest.raises(BadImage, match="no glyph"):
        infographic(photos.mug(), 1000, 1000, "Кружка 中文", [])


def test_only_catalog_facts_are_drawn() -> None:
    lines = infographic_lines({"Цвет": "белый", "description": "Лучшая кружка!"}, "ru")
    assert lines == [("Цвет", "белый")]
    assert infographic_lines({"Цвет": "белый"}, "uz") == [("Rangi", "oq")]  # the glossary's Uzbek
    assert infographic_lines({}, "ru") == []


def test_a_long_title_is_cut_with_an_ellipsis_and_stays_inside() -> None:
    title = " ".join(["Сверхдлинноеназвание"] * 12)
    drawn = infographic(photos.box(), 900, 1200, title, infographic_lines(FACTS, "ru"))
    titles = [t for t, _ in drawn.boxes[:2]]
    assert titles[-1].endswith("…")
    assert all(x1 <= 900 - 45 for _, (_, _, x1, _) in drawn.boxes)


def test_renders_are_deterministic_and_the_clean_photo_fits_whole() -> None:
    one = infographic(photos.mug(), 1080, 1440, TITLE_RU, infographic_lines(FACTS, "ru"))
    two = infographic(photos.mug(), 1080, 1440, TITLE_RU, infographic_lines(FACTS, "ru"))
    assert one.data == two.data  # content-addressed storage relies on it
    clean = Image.open(io.BytesIO(clean_photo(photos.pack(3), 1000, 1000).data))
    assert clean.size == (1000, 1000)
    border = ImageChops.invert(clean.convert("L")).crop((0, 0, 1000, 40))
    assert max(border.tobytes()) < 16  # the margin stays clean white: nothing was cropped into it
