"""Pure image rules: source checks, marketplace rules, perceptual-hash duplicates; never over a
seller's fact."""

from __future__ import annotations

from aimanager.domain.enums import Marketplace
from aimanager.domain.images import (
    RULES,
    ImageInfo,
    dhash,
    duplicates,
    extracted_to_add,
    hamming,
    rule_problems,
    source_problems,
)
from aimanager.media.imaging import decode, encode, perceptual_hash
from tests.images import photos


def test_source_checks_name_each_problem() -> None:
    assert source_problems(ImageInfo("JPEG", 800, 1000, 200_000)) == []
    problems = source_problems(ImageInfo("TIFF", 300, 1200, 40 * 1024 * 1024))
    assert len(problems) == 4
    assert any("TIFF" in p for p in problems) and any("400 px" in p for p in problems)
    assert any("MB" in p for p in problems) and any("aspect" in p for p in problems)


def test_marketplace_rules_follow_the_reference() -> None:
    assert (RULES[Marketplace.UZUM].width, RULES[Marketplace.UZUM].height) == (1080, 1440)
    assert (RULES[Marketplace.YANDEX].width, RULES[Marketplace.YANDEX].height) == (1000, 1000)
    wb = RULES[Marketplace.WILDBERRIES]
    assert (wb.min_width, wb.min_height) == (700, 900) and wb.width >= 900 and wb.aspect == 0.75
    assert rule_problems(ImageInfo("JPEG", 900, 1200, 100_000), wb) == []
    assert rule_problems(ImageInfo("JPEG", 600, 800, 100_000), wb)  # under 700×900
    assert rule_problems(ImageInfo("PNG", 1000, 1000, 100_000), wb)  # not 3:4
    assert rule_problems(ImageInfo("WEBP", 1000, 1000, 100_000), RULES[Marketplace.OZON])  # JPG/PNG only


def test_perceptual_hash_finds_the_same_picture_and_tells_different_ones_apart() -> None:
    mug = decode(encode(photos.mug()))
    resized = decode(encode(photos.mug(size=(400, 500)), "PNG"))
    other = decode(encode(photos.pack(3)))
    a, b, c = (perceptual_hash(d.image) for d in (mug, resized, other))
    assert hamming(a, b) <= 6 < hamming(a, c)
    assert duplicates([("mug", a), ("again", b), ("pack", c)]) == {"again": "mug"}
    rising, falling = list(range(0, 90, 10)) * 8, list(range(90, 0, -10)) * 8
    assert dhash(rising) == 0 and dhash(falling) == 2**64 - 1


def test_extraction_never_overwrites_what_the_seller_gave() -> None:
    seller = {"Цвет": "красный", "Материал": ""}
    found = [("color", "синий"), ("material", "керамика"), ("pack_count", "3"), ("Материал", "стекло")]
    assert extracted_to_add(seller, found) == {"material": "керамика", "pack_count": "3"}
