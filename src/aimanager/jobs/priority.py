"""Job priorities and their start SLAs: the engine's urgency vocabulary."""

from __future__ import annotations

import enum


class Priority(enum.IntEnum):
    """Job priorities; a lower number is claimed first."""

    URGENT = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @property
    def start_sla_seconds(self) -> float:
        """How long a job of this priority may wait before it starts (its deadline)."""
        return START_SLA_SECONDS[self]

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


START_SLA_SECONDS: dict[Priority, float] = {
    Priority.URGENT: 1.0,
    Priority.HIGH: 5.0,
    Priority.MEDIUM: 30.0,
    Priority.LOW: 300.0,
}
