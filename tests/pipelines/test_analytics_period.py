"""Report periods in the partner's calendar: whole local days, named by the local date (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from aimanager.domain.analytics import compute_partner_metrics
from aimanager.domain.report_period import local_dates, report_period
from aimanager.pipelines.reports.html import CHAR_PX, bar_chart, render_report

LATE = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)  # 01:30 on 1 December in Tashkent (UTC+5)


def test_a_report_made_late_in_utc_is_dated_by_the_partners_day() -> None:
    p = report_period(LATE, "Asia/Tashkent", 30)
    assert (p.first_day, p.last_day) == (date(2026, 11, 2), date(2026, 12, 1))
    # Local midnights as UTC instants: 2 Nov 00:00 and 2 Dec 00:00 in Tashkent.
    assert p.start == datetime(2026, 11, 1, 19, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert p.days == 30 and p.timezone == "Asia/Tashkent"
    in_utc = report_period(LATE, "UTC", 30)
    assert in_utc.last_day == date(2026, 11, 30)  # the same instant is still 30 November in UTC


@pytest.mark.parametrize(
    ("now", "first", "last"),
    [
        (LATE, date(2026, 11, 30), date(2026, 11, 30)),  # yesterday in Tashkent: 30 Nov
        (datetime(2026, 11, 30, 18, 59, tzinfo=UTC), date(2026, 11, 29), date(2026, 11, 29)),
        (datetime(2026, 11, 30, 19, 0, tzinfo=UTC), date(2026, 11, 30), date(2026, 11, 30)),
    ],
)
def test_yesterday_turns_at_local_midnight(now: datetime, first: date, last: date) -> None:
    p = report_period(now, "Asia/Tashkent", kind="yesterday")
    assert (p.first_day, p.last_day) == (first, last) and p.days == 1


def test_last_seven_days_are_complete_local_days() -> None:
    p = report_period(LATE, "Asia/Tashkent", 7, "last_days")
    assert (p.first_day, p.last_day) == (date(2026, 11, 24), date(2026, 11, 30))
    assert p.start == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    assert local_dates(p.start, p.end, "Asia/Tashkent") == (p.first_day, p.last_day)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        report_period(datetime(2026, 1, 1), "Asia/Tashkent")
    with pytest.raises(ValueError, match="unknown period"):
        report_period(LATE, "Asia/Tashkent", kind="fortnight")
    # A zone edited by hand into nonsense falls back to the default rather than stopping the report.
    assert report_period(LATE, "Mars/Olympus", 1).timezone == "Asia/Tashkent"


def test_the_page_shows_local_dates_and_the_zone() -> None:
    p = report_period(LATE, "Asia/Tashkent", 30)
    m = compute_partner_metrics("Acme", p.start, p.end, [], [], [], timezone=p.timezone)
    page = render_report(m)
    assert "2026-11-02 — 2026-12-01 (Asia/Tashkent)" in page


def test_chart_labels_and_values_fit_their_room() -> None:
    long_name = "Чайник электрический Tefal KO1 1,7 л, нержавеющая сталь, белый корпус"
    svg = bar_chart([(long_name, Decimal(123_456_789), "#000"), ("B", Decimal(5), "#000")], unit=" UZS")
    width = int(svg.split('width="')[1].split('"')[0])
    label_x = int(svg.split('<rect x="')[1].split('"')[0])
    texts = [chunk.split("</text>")[0] for chunk in svg.split("<text ")[1:]]
    for chunk in texts:
        x = float(chunk.split('x="')[1].split('"')[0])
        shown = chunk.split(">", 1)[1].split("<title>")[0]
        # Independent estimate: 6.6 px a character at 11 px (CHAR_PX is the chart's own, larger).
        right = x + len(shown) * 6.6
        assert right <= width, (shown, right, width)
        if x == 0:
            assert right <= label_x, (shown, right, label_x)  # a label never runs under its bar
    assert "…" in svg and f"<title>{long_name}" in svg  # cut visibly; the whole name in the tooltip
    assert CHAR_PX >= 6.6
