"""Where a product category lives on each marketplace (leaf category ids).

Marketplaces need their own category id on every card: WB ``subjectID``, Ozon
``description_category_id`` + ``type_id``, Yandex ``marketCategoryId``, Uzum a cabinet category name.
The table covers the catalog's categories; an unknown category is a per-item error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimanager.domain.enums import Marketplace


@dataclass(frozen=True)
class CategoryRef:
    """A marketplace's category for one of our categories."""

    category_id: str
    type_id: str | None = None


_TABLE: dict[str, dict[Marketplace, CategoryRef]] = {
    "Электрочайники": {
        Marketplace.WILDBERRIES: CategoryRef("1439"),
        Marketplace.OZON: CategoryRef("17028922", "91565"),
        Marketplace.YANDEX: CategoryRef("91491"),
        Marketplace.UZUM: CategoryRef("Бытовая техника"),
    },
    "Кружки": {
        Marketplace.WILDBERRIES: CategoryRef("2330"),
        Marketplace.OZON: CategoryRef("17028922", "91566"),
        Marketplace.YANDEX: CategoryRef("91492"),
        Marketplace.UZUM: CategoryRef("Посуда"),
    },
    "Футболки": {
        Marketplace.WILDBERRIES: CategoryRef("105"),
        Marketplace.OZON: CategoryRef("17027495", "94765"),
        Marketplace.YANDEX: CategoryRef("7811901"),
        Marketplace.UZUM: CategoryRef("Одежда"),
    },
    "Шампуни": {
        Marketplace.WILDBERRIES: CategoryRef("1297"),
        Marketplace.OZON: CategoryRef("17027495", "94765"),
        Marketplace.YANDEX: CategoryRef("8476099"),
        Marketplace.UZUM: CategoryRef("Красота и уход"),
    },
    "Смартфоны": {
        Marketplace.WILDBERRIES: CategoryRef("192"),
        Marketplace.OZON: CategoryRef("17028922", "91565"),
        Marketplace.YANDEX: CategoryRef("91491"),
        Marketplace.UZUM: CategoryRef("Электроника"),
    },
    "Рюкзаки": {
        Marketplace.WILDBERRIES: CategoryRef("115"),
        Marketplace.OZON: CategoryRef("17027495", "94765"),
        Marketplace.YANDEX: CategoryRef("7812144"),
        Marketplace.UZUM: CategoryRef("Аксессуары"),
    },
    "Сковороды": {
        Marketplace.WILDBERRIES: CategoryRef("1450"),
        Marketplace.OZON: CategoryRef("17028922", "91566"),
        Marketplace.YANDEX: CategoryRef("91493"),
        Marketplace.UZUM: CategoryRef("Посуда"),
    },
    "Конструкторы": {
        Marketplace.WILDBERRIES: CategoryRef("3270"),
        Marketplace.OZON: CategoryRef("17027495", "94765"),
        Marketplace.YANDEX: CategoryRef("10470548"),
        Marketplace.UZUM: CategoryRef("Детские товары"),
    },
}


def category_for(category: str | None, marketplace: Marketplace) -> CategoryRef | None:
    """The marketplace's category for ``category``, or None when it is not mapped."""
    if category is None:
        return None
    return _TABLE.get(category, {}).get(Marketplace(marketplace))


def known_categories() -> list[str]:
    """Our categories that have a mapping."""
    return sorted(_TABLE)
