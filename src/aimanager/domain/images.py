"""Product images: each marketplace's image rules, checks of catalog photos, perceptual hashes, and
which catalog facts an infographic may show (pure: no I/O, no imaging library).

Figures come from ``reference/marketplace-apis.md``: Uzum's template asks 1080×1440, JPEG/JPG/WebP/PNG,
≤5 MB (§2.4); Wildberries takes ≤30 images, at least 700×900, ≤32 MB, JPG/PNG/BMP/GIF/WebP and stores
3:4 sizes such as 900×1200 (§3.3); Ozon takes ≤30 public JPG/PNG URLs (§4.4); Yandex Market 1–30
http(s) URLs (§5.3). Ozon's and Yandex's pixel rules live in help centres the reference does not hold
(gap G-3): the sizes below for them are marked [I] (Yandex 1000×1000 as the platform this product comes
from draws it; Ozon 3:4 like Wildberries, whose cards sell in the same storefront habits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aimanager.domain.enums import Marketplace
from aimanager.domain.glossary import fully_known, to_uzbek
from aimanager.domain.rules import canonical_key
from aimanager.domain.uzbek import has_cyrillic, to_latin

MB = 1024 * 1024
# Catalog photos: what the pipeline accepts as a source before it renders anything.
SOURCE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
SOURCE_MIN_SIDE = 400  # smaller photos blur when scaled into a 900-1440 px frame
SOURCE_MAX_BYTES = 32 * MB  # the largest any marketplace takes (Wildberries)
SOURCE_MAX_ASPECT = 3.0  # longer side ÷ shorter side; a banner strip is not a product photo
MAX_PHOTOS = 30  # every marketplace's count limit (Uzum's is unknown: gap G-2, same assumed)
# Two photos whose 64-bit difference hashes differ in at most this many bits show the same picture
# (re-encoded, resized or lightly retouched); 10+ bits apart are different shots in practice.
DUPLICATE_BITS = 6
HASH_W, HASH_H = 9, 8  # a dHash compares neighbours in a 9×8 grey thumbnail: 8×8 = 64 bits


# Host names that name no real server (RFC 2606 / RFC 6761 reserved names, and mDNS's .local, which a
# server-side fetcher does not resolve): sample catalogs and documentation use them as placeholders.
PLACEHOLDER_SUFFIXES = (".example", ".invalid", ".test", ".local")
PLACEHOLDER_HOSTS = frozenset({"example.com", "example.net", "example.org"})


def fetchable(source: str) -> bool:
    """Whether a catalog photo source can be fetched at all: a file (path or ``file:`` URL), or an
    http(s) URL whose host is not a placeholder name. Says nothing of whether it is there: a missing
    file or a 404 is found by the fetch and reported on the product's task."""
    parts = urlsplit(source.strip())
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        return bool(parts.path)
    if scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or any(host == h or host.endswith("." + h) for h in PLACEHOLDER_HOSTS):
        return False
    return not any(host.endswith(s) or host == s[1:] for s in PLACEHOLDER_SUFFIXES)


@dataclass(frozen=True, slots=True)
class ImageRule:
    """What one marketplace takes, and the size we render for it."""

    marketplace: Marketplace
    width: int  # the size we render (pixels)
    height: int
    min_width: int
    min_height: int
    max_bytes: int
    formats: frozenset[str]  # Pillow format names
    max_count: int
    languages: tuple[str, ...]  # infographic text, first = the main image's
    source: str  # where the figures come from

    @property
    def aspect(self) -> float:
        return self.width / self.height


RULES: dict[Marketplace, ImageRule] = {
    Marketplace.UZUM: ImageRule(
        Marketplace.UZUM,
        1080,
        1440,
        1080,
        1440,
        5 * MB,
        frozenset({"JPEG", "PNG", "WEBP"}),
        MAX_PHOTOS,
        ("uz", "ru"),
        "[U] Uzum bulk template: 1080×1440, JPEG/JPG/WebP/PNG, ≤5 MB",
    ),
    Marketplace.WILDBERRIES: ImageRule(
        Marketplace.WILDBERRIES,
        900,
        1200,
        700,
        900,
        32 * MB,
        frozenset({"JPEG", "PNG", "BMP", "GIF", "WEBP"}),
        30,
        ("ru",),
        "[C] ≥700×900, ≤32 MB, JPG/PNG/BMP/GIF/WebP, ≤30; stored 900×1200 (3:4)",
    ),
    Marketplace.OZON: ImageRule(
        Marketplace.OZON,
        900,
        1200,
        700,
        900,
        10 * MB,
        frozenset({"JPEG", "PNG"}),
        30,
        ("ru",),
        "[C] JPG/PNG public URLs, ≤30; [I] 3:4 900×1200, ≤10 MB (gap G-3)",
    ),
    Marketplace.YANDEX: ImageRule(
        Marketplace.YANDEX,
        1000,
        1000,
        500,
        500,
        10 * MB,
        frozenset({"JPEG", "PNG"}),
        30,
        ("ru", "uz"),
        "[C] 1–30 http(s) URLs; [I] 1000×1000 as the original platform draws, JPEG/PNG (gap G-3)",
    ),
}


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What a decoded image is: format (Pillow's name), pixel size and file size."""

    format: str
    width: int
    height: int
    size_bytes: int


def source_problems(info: ImageInfo) -> list[str]:
    """Why a catalog photo cannot be used as a source (empty when it can)."""
    problems: list[str] = []
    if info.format not in SOURCE_FORMATS:
        problems.append(
            f"format {info.format or 'unknown'} is not one of {', '.join(sorted(SOURCE_FORMATS))}"
        )
    if min(info.width, info.height) < SOURCE_MIN_SIDE:
        problems.append(f"{info.width}×{info.height} px: the shorter side is under {SOURCE_MIN_SIDE} px")
    if info.size_bytes > SOURCE_MAX_BYTES:
        problems.append(f"{info.size_bytes / MB:.1f} MB is over {SOURCE_MAX_BYTES // MB} MB")
    short, long = sorted((max(info.width, 1), max(info.height, 1)))
    if long / short > SOURCE_MAX_ASPECT:
        problems.append(f"{info.width}×{info.height} px: aspect over {SOURCE_MAX_ASPECT:g}:1")
    return problems


def rule_problems(info: ImageInfo, rule: ImageRule) -> list[str]:
    """Why ``rule.marketplace`` would refuse this image (empty when it takes it)."""
    problems: list[str] = []
    if info.format not in rule.formats:
        problems.append(f"{rule.marketplace.value}: format {info.format} not in {sorted(rule.formats)}")
    if info.width < rule.min_width or info.height < rule.min_height:
        problems.append(
            f"{rule.marketplace.value}: {info.width}×{info.height} px is under "
            f"{rule.min_width}×{rule.min_height}"
        )
    if info.size_bytes > rule.max_bytes:
        problems.append(f"{rule.marketplace.value}: {info.size_bytes} bytes is over {rule.max_bytes}")
    # Within 1 % of the rendered aspect: the marketplaces crop or refuse other shapes.
    if abs(info.width / max(info.height, 1) - rule.aspect) > 0.01 * rule.aspect:
        problems.append(
            f"{rule.marketplace.value}: aspect {info.width}:{info.height} is not {rule.width}:{rule.height}"
        )
    return problems


def dhash(grey: Sequence[int], width: int = HASH_W, height: int = HASH_H) -> int:
    """The difference hash of a ``width``×``height`` grey thumbnail (row-major, 0-255): one bit per
    horizontal neighbour pair, set where the left pixel is brighter. Survives resizing, re-encoding and
    small colour changes; a different shot changes many bits."""
    if len(grey) != width * height:
        raise ValueError(f"expected {width * height} pixels, got {len(grey)}")
    bits = 0
    for row in range(height):
        base = row * width
        for col in range(width - 1):
            bits = (bits << 1) | (1 if grey[base + col] > grey[base + col + 1] else 0)
    return bits


def hamming(a: int, b: int) -> int:
    """Bits that differ between two hashes."""
    return (a ^ b).bit_count()


def duplicates(hashes: Sequence[tuple[str, int]], max_bits: int = DUPLICATE_BITS) -> dict[str, str]:
    """Photo → the earlier photo it repeats (same picture within ``max_bits``), in the given order."""
    seen: list[tuple[str, int]] = []
    repeats: dict[str, str] = {}
    for name, value in hashes:
        first = next((earlier for earlier, h in seen if hamming(h, value) <= max_bits), None)
        if first is not None:
            repeats[name] = first
        else:
            seen.append((name, value))
    return repeats


# Facts an infographic shows, in this order, with their labels; values come from the catalog only.
INFOGRAPHIC_FACTS: tuple[tuple[str, str, str], ...] = (
    ("color", "Цвет", "Rangi"),
    ("material", "Материал", "Materiali"),
    ("size", "Размер", "Oʻlchami"),
    ("volume_ml", "Объём, мл", "Hajmi, ml"),
    ("weight_g", "Вес, г", "Ogʻirligi, g"),
    ("pack_count", "В упаковке, шт", "Qadoqda, dona"),
    ("country", "Страна", "Mamlakat"),
    ("brand", "Бренд", "Brend"),
)
# Names the catalog and the vision tier use for the facts ``domain.rules`` has no alias for.
EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "size": ("size", "размер", "oʻlcham", "o'lcham"),
    "pack_count": ("pack_count", "count", "количество", "количество в упаковке", "шт в упаковке", "soni"),
}


def fact_key(name: str) -> str:
    """The canonical key of an attribute name (``"Цвет"`` → ``"color"``)."""
    key = canonical_key(name)
    for canonical, aliases in EXTRA_ALIASES.items():
        if key in aliases:
            return canonical
    return key


def value_in(language: str, value: str) -> str:
    """A catalog value as the infographic writes it in ``language``: Uzbek through the glossary when it
    knows every word, else in Latin letters; Russian as given. Never a value the catalog lacks."""
    text = " ".join(value.split())
    if language != "uz" or not has_cyrillic(text):
        return text
    return to_uzbek(text) if fully_known(text) else to_latin(text)


def infographic_lines(facts: Mapping[str, str], language: str, limit: int = 5) -> list[tuple[str, str]]:
    """``(label, value)`` pairs to draw: the known facts present in ``facts`` (canonical keys or catalog
    names), in ``INFOGRAPHIC_FACTS`` order, at most ``limit``."""
    present: dict[str, str] = {}
    for name, value in facts.items():
        if str(value).strip():
            present.setdefault(fact_key(name), str(value))
    index = 1 if language == "ru" else 2
    lines: list[tuple[str, str]] = []
    for entry in INFOGRAPHIC_FACTS:
        key = entry[0]
        if key in present and len(lines) < limit:
            lines.append((entry[index], value_in(language, present[key])))
    return lines


def extracted_to_add(seller: Mapping[str, str], extracted: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The extracted attributes a seller did not give (by canonical key): a seller's fact always wins,
    so extraction can only fill gaps, never overwrite."""
    given = {fact_key(k) for k, v in seller.items() if str(v).strip()}
    out: dict[str, str] = {}
    for name, value in extracted:
        key = fact_key(name)
        if key not in given and str(value).strip() and key not in out:
            out[key] = str(value).strip()
    return out
