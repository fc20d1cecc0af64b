"""A report's period in the partner's own calendar (``partners.timezone``, Asia/Tashkent by default).

A seller in Tashkent (UTC+5) who asks at 01:30 on 1 December for "yesterday" means 30 November, though
it is still 30 November 20:30 in UTC. Periods are therefore whole local days: their bounds are local
midnights, turned into UTC instants for queries (``start`` inclusive, ``end`` exclusive), and a report
is named and titled by its local dates.

Kinds: ``to_date`` (default) — the last ``days`` local days including today, so far; ``yesterday`` —
the one local day before today; ``last_days`` — the ``days`` complete local days ending yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Tashkent"
KINDS = ("to_date", "yesterday", "last_days")


@dataclass(frozen=True)
class ReportPeriod:
    """Local dates ``first_day``..``last_day`` (inclusive) and their UTC bounds ``[start, end)``."""

    timezone: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def label(self) -> str:
        """``2026-11-02 — 2026-12-01`` (one date when the period is one day)."""
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} — {self.last_day.isoformat()}"


def zone_of(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; the default zone for an empty or unknown name (a partner row edited by
    hand must not stop its reports)."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of ``first``'s local midnight and of the midnight after ``last``."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def local_dates(start: datetime, end: datetime, timezone: str | None) -> tuple[date, date]:
    """The first and last local dates of ``[start, end)`` in ``timezone``."""
    zone = zone_of(timezone)
    return start.astimezone(zone).date(), (end.astimezone(zone) - timedelta(microseconds=1)).date()


def report_period(now: datetime, timezone: str | None, days: int = 30, kind: str = "to_date") -> ReportPeriod:
    """The period of a report made at ``now`` (tz-aware) for a partner in ``timezone``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days < 1:
        raise ValueError("a period has at least one day")
    if kind not in KINDS:
        raise ValueError(f"unknown period {kind!r}; one of {', '.join(KINDS)}")
    zone = zone_of(timezone)
    today = now.astimezone(zone).date()
    if kind == "to_date":
        first, last = today - timedelta(days=days - 1), today
    elif kind == "yesterday":
        first = last = today - timedelta(days=1)
    else:
        last = today - timedelta(days=1)
        first = last - timedelta(days=days - 1)
    start, end = local_day_bounds(first, last, zone)
    return ReportPeriod(zone.key, first, last, start, end)
