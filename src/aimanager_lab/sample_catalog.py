"""Deterministic, realistic sample catalog: partners × SKUs × the four marketplaces.

Russian product names, brands and categories; numbers (weight, volume, power, size) live in the
attributes and the name so that card validation has facts to check; cost prices in UZS; per-marketplace
fees shaped like the references: Uzum commission 5-25 % by category and logistics by volume (5,250 UZS
up to 1 L, +250 UZS per extra litre, at most 50,000 — marketplace-apis.md §2.3), WB 12-25 %, Ozon
8-25 %, YM 6-18 % commission (seller-tools.md §1.1 "Ozon commission 5-25 %", "Uzum … mostly 10-25 %").
Competitor prices are present more often on Ozon and YM, which expose them (gap G-7).

The same ``seed`` always gives the same rows; the rows are the columns of
:mod:`aimanager.pipelines.catalog.importer`, so they can be written as CSV/XLSX or inserted directly.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.domain.enums import Marketplace
from aimanager.pipelines.catalog.importer import ImportReport, import_rows

PREFIX = {
    Marketplace.WILDBERRIES: "wb",
    Marketplace.OZON: "ozon",
    Marketplace.UZUM: "uzum",
    Marketplace.YANDEX: "yandex",
}
LISTING_COLUMNS = ("id", "sku", "price", "commission_pct", "logistics", "min_margin_pct", "competitor_price")
COLUMNS: tuple[str, ...] = (
    "partner", "partner_name", "sku", "barcode", "name", "brand", "category", "description",
    "attributes", "images", "cost_price", "currency", "stock",
    *(f"{PREFIX[mp]}_{col}" for mp in Marketplace for col in LISTING_COLUMNS),
)  # fmt: skip


@dataclass(frozen=True)
class Category:
    """A product family: how its names, attributes and prices are drawn."""

    name: str
    kind: str  # product type, first words of the title
    brands: tuple[str, ...]
    models: tuple[str, ...]
    key_attr: str  # the attribute repeated in the name
    key_values: tuple[str, ...]
    key_unit: str
    extra: tuple[tuple[str, tuple[str, ...]], ...]
    cost: tuple[int, int]  # UZS
    weight: tuple[int, int]  # grams
    dims: tuple[int, int]  # mm, each side
    uzum_commission: int  # %, per category (Uzum is category-based, §2.3)


CATEGORIES: tuple[Category, ...] = (
    Category("Электрочайники", "Чайник электрический", ("Bosch", "Tefal", "Polaris", "Redmond", "Vitek"),
             ("TWK-1700", "KO-150", "PWK-1725", "RK-M216", "VT-7009"), "Объём, л", ("1,5", "1,7", "2"), "л",
             (("Мощность, Вт", ("1800", "2200", "2400")), ("Материал корпуса", ("пластик", "сталь"))),
             (180_000, 650_000), (900, 1600), (180, 260), 12),
    Category("Кружки", "Кружка керамическая", ("Luminarc", "Kamille", "Hoff", "Attribute"),
             ("Classic", "Nordic", "Loft", "Cafe"), "Объём, мл", ("300", "350", "450"), "мл",
             (("Материал", ("керамика", "фарфор")), ("Можно в посудомоечной машине", ("да", "нет"))),
             (18_000, 70_000), (250, 450), (90, 130), 10),
    Category("Футболки", "Футболка мужская хлопковая", ("Uzcotton", "Baon", "Gloria Jeans", "Oodji"),
             ("Basic", "Oversize", "Slim", "Sport"), "Размер", ("S", "M", "L", "XL"), "",
             (("Состав", ("100% хлопок", "95% хлопок, 5% эластан")), ("Плотность, г/м²", ("160", "180"))),
             (40_000, 130_000), (150, 260), (200, 300), 8),
    Category("Шампуни", "Шампунь для волос", ("Nivea", "Dove", "Pantene", "Schauma"),
             ("Объём и сила", "Интенсивное восстановление", "Свежесть", "Против перхоти"), "Объём, мл",
             ("250", "400", "500"), "мл", (("Тип волос", ("для всех типов", "для сухих", "для жирных")),),
             (25_000, 80_000), (280, 560), (60, 220), 10),
    Category("Смартфоны", "Смартфон", ("Samsung", "Xiaomi", "realme", "Tecno"),
             ("Galaxy A15", "Redmi 13C", "C55", "Spark 20"), "Встроенная память, ГБ", ("128", "256"), "ГБ",
             (("Диагональ экрана, дюйм", ("6,5", "6,6", "6,7")), ("Оперативная память, ГБ", ("4", "6", "8"))),
             (1_400_000, 4_200_000), (180, 220), (80, 170), 5),
    Category("Рюкзаки", "Рюкзак городской", ("Xiaomi", "Tigernu", "Wenger", "Samsonite"),
             ("Urban", "Commuter", "Travel", "City"), "Объём, л", ("20", "25", "30"), "л",
             (("Материал", ("полиэстер", "нейлон")), ("Отделение для ноутбука, дюйм", ("14", "15,6"))),
             (150_000, 900_000), (500, 1100), (150, 450), 15),
    Category("Сковороды", "Сковорода антипригарная", ("Tefal", "Kukmara", "Biol", "Rondell"),
             ("Expertise", "Granit", "Optima", "Pro"), "Диаметр, см", ("24", "26", "28"), "см",
             (("Покрытие", ("мраморное", "титановое", "керамическое")), ("Индукция", ("да", "нет"))),
             (120_000, 480_000), (800, 1600), (60, 500), 12),
    Category("Конструкторы", "Конструктор детский", ("LEGO", "Mould King", "Sluban", "Cobi"),
             ("City", "Technic", "Classic", "Creator"), "Деталей, шт", ("120", "250", "500"), "деталей",
             (("Возраст, от лет", ("4", "6", "8")), ("Материал", ("пластик ABS",))),
             (80_000, 900_000), (300, 1500), (150, 400), 15),
)  # fmt: skip

COUNTRIES = ("Узбекистан", "Китай", "Россия", "Турция", "Германия")
COLORS = ("белый", "чёрный", "серый", "синий", "красный", "зелёный")
PARTNER_WORDS = ("Savdo", "Baraka", "Orzu", "Nur", "Ipak", "Zamon", "Oltin", "Yulduz", "Bahor", "Vodiy")
# Commission % ranges per marketplace and per-unit logistics (UZS) for WB/Ozon/YM; Uzum by volume.
FEES: dict[Marketplace, tuple[tuple[int, int], tuple[int, int]]] = {
    Marketplace.WILDBERRIES: ((12, 25), (6_000, 18_000)),
    Marketplace.OZON: ((8, 25), (7_000, 20_000)),
    Marketplace.YANDEX: ((6, 18), (5_000, 14_000)),
}
COMPETITOR_SHARE = {
    Marketplace.OZON: 0.7,
    Marketplace.YANDEX: 0.6,
    Marketplace.WILDBERRIES: 0.3,
    Marketplace.UZUM: 0.3,
}


def uzum_logistics(length_mm: int, width_mm: int, height_mm: int) -> int:
    """Uzum's per-item logistics fee (UZS) from the box volume, rounded up to whole litres (§2.3)."""
    litres = -(-(length_mm * width_mm * height_mm) // 1_000_000)
    return min(50_000, 5_250 + 250 * max(0, litres - 1))


def generate_catalog(
    partners: int = 10,
    skus: int = 100,
    marketplaces: Sequence[Marketplace] = tuple(Marketplace),
    seed: int = 42,
) -> list[dict[str, str]]:
    """``partners × skus`` catalog rows (columns of the importer); the same seed gives the same rows."""
    rnd = random.Random(seed)
    rows: list[dict[str, str]] = []
    for p in range(partners):
        slug = f"partner-{p + 1:04d}"
        pname = f"{PARTNER_WORDS[p % len(PARTNER_WORDS)]} {rnd.choice(('Trade', 'Market', 'Group'))} MChJ"
        for s in range(skus):
            rows.append(_row(rnd, slug, pname, p, s, marketplaces))
    return rows


def _row(
    rnd: random.Random, slug: str, pname: str, p: int, s: int, marketplaces: Sequence[Marketplace]
) -> dict[str, str]:
    cat = CATEGORIES[(p * 3 + s) % len(CATEGORIES)]
    i = rnd.randrange(len(cat.brands))
    brand, model = cat.brands[i], cat.models[i % len(cat.models)]
    key = rnd.choice(cat.key_values)
    unit = f" {cat.key_unit}" if cat.key_unit else ""
    name = f"{cat.kind} {brand} {model}, {key}{unit}"
    dims = sorted((rnd.randint(*cat.dims) for _ in range(3)), reverse=True)
    attrs = {cat.key_attr: key}
    attrs.update({k: rnd.choice(v) for k, v in cat.extra})
    attrs.update(
        {
            "Вес, г": str(rnd.randint(*cat.weight)),
            "Длина, мм": str(dims[0]),
            "Ширина, мм": str(dims[1]),
            "Высота, мм": str(dims[2]),
            "Страна производства": rnd.choice(COUNTRIES),
            "Цвет": rnd.choice(COLORS),
            "ИКПУ": f"{rnd.randrange(10**16, 10**17)}",
        }
    )
    cost = _round(rnd.randint(*cat.cost), 1000)
    sku = f"{slug[-4:]}-{cat.name[:3].upper()}-{s + 1:04d}"
    row: dict[str, str] = {
        "partner": slug,
        "partner_name": pname,
        "sku": sku,
        "barcode": _ean13(rnd),
        "name": name,
        "brand": brand,
        "category": cat.name,
        "description": f"{cat.kind} {brand} {model}. {cat.key_attr}: {key}. Страна производства: "
        f"{attrs['Страна производства']}.",
        "attributes": "; ".join(f"{k}={v}" for k, v in attrs.items()),
        "images": "; ".join(f"https://img.sample.aimanager.local/{slug}/{sku}/{n}.jpg" for n in (1, 2, 3)),
        "cost_price": str(cost),
        "currency": "UZS",
        "stock": str(0 if rnd.random() < 0.05 else rnd.randint(1, 200)),
    }
    for mp in Marketplace:
        prefix = PREFIX[mp]
        if mp not in marketplaces:
            row.update({f"{prefix}_{c}": "" for c in LISTING_COLUMNS})
            continue
        if mp is Marketplace.UZUM:
            commission = Decimal(cat.uzum_commission + rnd.choice((-2, 0, 0, 3)))
            logistics = uzum_logistics(*dims)
        else:
            (lo, hi), (llo, lhi) = FEES[mp]
            commission = Decimal(rnd.randint(lo * 2, hi * 2)) / 2  # half-percent steps
            logistics = _round(rnd.randint(llo, lhi), 50)
        margin = Decimal(rnd.choice((10, 12, 15, 20)))
        floor = (Decimal(cost) + logistics) / (1 - (commission + margin) / 100)
        # Current prices mostly above the floor; ~5 % below it, so the repricer has repairs to make.
        factor = Decimal(
            str(round(rnd.uniform(0.9, 0.98) if rnd.random() < 0.05 else rnd.uniform(1.02, 1.5), 3))
        )
        price = _round_dec(floor * factor, 100)
        competitor = ""
        if rnd.random() < COMPETITOR_SHARE[mp]:
            competitor = str(_round_dec(price * Decimal(str(round(rnd.uniform(0.85, 1.15), 3))), 100))
        row.update(
            {
                f"{prefix}_id": str(rnd.randrange(10**8, 10**9)) if mp is not Marketplace.YANDEX else sku,
                f"{prefix}_sku": sku,
                f"{prefix}_price": str(price),
                f"{prefix}_commission_pct": str(commission),
                f"{prefix}_logistics": str(logistics),
                f"{prefix}_min_margin_pct": str(margin),
                f"{prefix}_competitor_price": competitor,
            }
        )
    return row


def write_catalog(path: str | Path, rows: Sequence[dict[str, str]]) -> Path:
    """Write ``rows`` as CSV (UTF-8) or XLSX, chosen by the file extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("catalog")
        ws.append(list(COLUMNS))
        for r in rows:
            ws.append([r.get(c, "") for c in COLUMNS])
        wb.save(path)
        return path
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path.name}: write .csv or .xlsx")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


async def insert_catalog(
    target: AsyncEngine | async_sessionmaker[AsyncSession], rows: Sequence[dict[str, str]]
) -> ImportReport:
    """Insert ``rows`` straight into the database through the importer's validation (no file)."""
    return await import_rows(rows, target, name="sample-catalog")


def _ean13(rnd: random.Random) -> str:
    body = "460" + "".join(str(rnd.randrange(10)) for _ in range(9))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _round(value: int, step: int) -> int:
    return max(step, (value + step // 2) // step * step)


def _round_dec(value: Decimal, step: int) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
