"""Enumerations shared by every layer: marketplaces, priorities, capabilities."""

from __future__ import annotations

import enum


class Marketplace(enum.StrEnum):
    """The four marketplaces an Uzbek seller lists on."""

    UZUM = "uzum"
    WILDBERRIES = "wildberries"
    OZON = "ozon"
    YANDEX = "yandex"


class Priority(enum.IntEnum):
    """Job priorities; a lower number is claimed first."""

    URGENT = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @property
    def start_sla_seconds(self) -> float:
        """How long a job of this priority may wait before it starts (its deadline)."""
        return _SLA[self]

    @classmethod
    def parse(cls, value: str | int | Priority) -> Priority:
        """Accept a name (``"urgent"``), a number or a member."""
        if isinstance(value, Priority):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(p.name.lower() for p in cls)
            raise ValueError(f"unknown priority {value!r}; expected one of {names}") from None


_SLA: dict[Priority, float] = {
    Priority.URGENT: 1.0,
    Priority.HIGH: 5.0,
    Priority.MEDIUM: 30.0,
    Priority.LOW: 300.0,
}


class Capability(enum.StrEnum):
    """The four kinds of work AI Manager does for a partner."""

    CARDS = "cards"
    PRICING = "pricing"
    STOCK = "stock"
    ANALYTICS = "analytics"
