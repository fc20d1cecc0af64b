"""A partner's analytics as one self-contained HTML file with inline SVG charts.

No scripts, no external resources: the page carries a Content-Security-Policy that forbids both, and
every piece of text (product names come from partners' catalogs and may be hostile) goes through
:func:`html.escape` — the policy is a second line of defence, not the first.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from aimanager.domain.analytics import PartnerMetrics
from aimanager.domain.report_period import local_dates

COLORS = {"A": "#2e7d32", "B": "#f9a825", "C": "#9e9e9e"}
STATUS_COLORS = {
    "out_of_stock": "#c62828",
    "low": "#ef6c00",
    "healthy": "#2e7d32",
    "excess": "#1565c0",
    "no_sales": "#9e9e9e",
}
STATUS_LABELS = {
    "out_of_stock": "нет в наличии",
    "low": "мало (< 28 дн.)",
    "healthy": "норма",
    "excess": "избыток (> 91 дн.)",
    "no_sales": "нет продаж",
}
# Text widths are estimated, never measured (no scripts): CHAR_PX is a generous width of one 11 px
# character (Cyrillic capitals and digits included), so a label fits the room it is given.
CHAR_PX = 7.2
LABEL_CHARS = 40  # longer labels end in "…"; the full text is in the bar's tooltip
BAR_PX = 300
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212121;
max-width:1100px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.muted{color:#757575}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.tile{border:1px solid #e0e0e0;border-radius:8px;
padding:10px 14px;min-width:150px}.tile b{display:block;font-size:19px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left}td.n,th.n{text-align:right}
.narr{display:grid;grid-template-columns:1fr 1fr;gap:16px}.narr p{white-space:pre-wrap;margin:0}
svg text{font-size:11px;fill:#424242}
"""


def esc(value: object) -> str:
    """Text for HTML content or attribute values: ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


def fmt(value: Decimal | int | None, places: int = 0) -> str:
    """``1 234 567`` with a thin no-break space; ``—`` for None."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.{places}f}"
    return text.replace(",", "\u202f")


def short(label: str, limit: int = LABEL_CHARS) -> str:
    """``label`` cut to ``limit`` characters, the cut marked with "…"."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def bar_chart(items: Sequence[tuple[str, Decimal, str]], *, unit: str = "") -> str:
    """Horizontal bars ``(label, value, colour)``; values ≤ 0 draw an empty bar.

    The label column is as wide as the longest (shortened) label and the value column as wide as the
    longest value, so no text is clipped by the bars or the picture's edge."""
    if not items:
        return '<p class="muted">нет данных</p>'
    row = 26
    labels = [short(label) for label, _, _ in items]
    values = [f"{fmt(value)}{unit}" for _, value, _ in items]
    label_w = int(max(len(t) for t in labels) * CHAR_PX) + 10
    value_w = int(max(len(t) for t in values) * CHAR_PX) + 10
    width = label_w + BAR_PX + value_w
    top = max((v for _, v, _ in items), default=Decimal(0))
    height = row * len(items) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" style="max-width:100%;height:auto">'
    ]
    for i, ((label, value, colour), text, shown) in enumerate(zip(items, labels, values, strict=True)):
        y = i * row + 4
        bar = 0 if top <= 0 or value <= 0 else int(BAR_PX * (value / top))
        parts.append(f'<text x="0" y="{y + 14}">{esc(text)}<title>{esc(label)}</title></text>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{bar}" height="18" fill="{esc(colour)}" rx="2">'
            f"<title>{esc(label)}: {esc(shown)}</title></rect>"
        )
        parts.append(f'<text x="{label_w + bar + 6}" y="{y + 14}">{esc(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(metrics: PartnerMetrics, narrative_ru: str = "", narrative_uz: str = "") -> str:
    """The whole report page as a string."""
    m = metrics
    cur = esc(m.currency)
    first, last = local_dates(m.period_start, m.period_end, m.timezone)
    period = f"{first:%Y-%m-%d} — {last:%Y-%m-%d} ({m.timezone})"
    tiles = [
        ("Выручка", f"{fmt(m.revenue)} {cur}"),
        ("Продано, шт.", fmt(m.units)),
        ("Маржа после комиссий", f"{fmt(m.margin)} {cur}"),
        ("Маржа, %", fmt(m.margin_pct, 1) if m.margin_pct is not None else "—"),
        ("Возвраты, шт.", fmt(m.returned_units)),
        ("Расходы на ИИ", f"${fmt(m.ai_spend_total_usd, 4)}"),
    ]
    revenue_chart = bar_chart(
        [(mp.marketplace.value, mp.revenue, "#1565c0") for mp in m.by_marketplace], unit=f" {m.currency}"
    )
    abc_chart = bar_chart(
        [
            (f"{cls}: {m.abc_summary.get(cls, {}).get('skus', 0)} SKU", _dec(m.abc_summary, cls), COLORS[cls])
            for cls in ("A", "B", "C")
        ],
        unit=" %",
    )
    status_chart = bar_chart(
        [
            (STATUS_LABELS[s], Decimal(m.stock_status_counts.get(s, 0)), STATUS_COLORS[s])
            for s in STATUS_LABELS
        ],
        unit=" SKU",
    )
    covered = sorted(
        (s for s in m.skus if s.cover_days is not None and s.stock > 0), key=lambda s: s.cover_days or 0
    )
    cover_chart = bar_chart(
        [(s.name, s.cover_days or Decimal(0), STATUS_COLORS[s.stock_status]) for s in covered[:12]],
        unit=" дн.",
    )
    body = [
        f"<h1>Отчёт партнёра {esc(m.partner)}</h1>",
        f'<div class="muted">Период {esc(period)} · валюта {cur}</div>',
        '<div class="tiles">'
        + "".join(f'<div class="tile">{esc(k)}<b>{esc(v)}</b></div>' for k, v in tiles)
        + "</div>",
        '<h2>Итоги / Xulosa</h2><div class="narr">'
        f'<div><h3>Русский</h3><p lang="ru">{esc(narrative_ru) or "—"}</p></div>'
        f'<div><h3>Oʻzbekcha</h3><p lang="uz">{esc(narrative_uz) or "—"}</p></div></div>',
        "<h2>Выручка по маркетплейсам</h2>",
        revenue_chart,
        _table(
            ["Маркетплейс", "Выручка", "Шт.", "Комиссия", "Логистика", "Маржа", "Маржа %"],
            [
                [
                    mp.marketplace.value,
                    fmt(mp.revenue),
                    fmt(mp.units),
                    fmt(mp.commission),
                    fmt(mp.logistics),
                    fmt(mp.margin),
                    fmt(mp.margin_pct, 1) if mp.margin_pct is not None else "—",
                ]
                for mp in m.by_marketplace
            ],
        ),
        "<h2>ABC-анализ (доля выручки)</h2>",
        abc_chart,
        "<h2>Запас: статусы и дни покрытия (самые короткие)</h2>",
        status_chart,
        cover_chart,
        "<h2>Топ товаров</h2>",
        _table(
            ["SKU", "Товар", "ABC", "Выручка", "Шт.", "Маржа", "Остаток", "Покрытие, дн."],
            [
                [
                    s.sku,
                    s.name,
                    s.abc,
                    fmt(s.revenue),
                    fmt(s.units),
                    fmt(s.margin),
                    fmt(s.stock),
                    fmt(s.cover_days, 1),
                ]
                for s in m.skus[:20]
            ],
        ),
        "<h2>Цена относительно конкурента</h2>",
        f'<p class="muted">Сравнено {esc(m.price_summary.get("compared", 0))}: дешевле '
        f"{esc(m.price_summary.get('cheaper', 0))}, дороже {esc(m.price_summary.get('dearer', 0))}, "
        f"медиана {esc(fmt(_opt(m.price_summary.get('median_gap_pct')), 1))} %</p>",
        _table(
            ["SKU", "Маркетплейс", "Наша цена", "Конкурент", "Разница, %"],
            [
                [p.sku, p.marketplace.value, fmt(p.price), fmt(p.competitor_price), fmt(p.gap_pct, 1)]
                for p in m.price_positions[:15]
            ],
        ),
        "<h2>Расходы на ИИ по моделям и задачам</h2>",
        _table(
            ["Модель", "Задача", "Вызовы", "Из кэша", "Токены вх.", "Токены вых.", "USD"],
            [
                [
                    a.model,
                    a.task_kind,
                    fmt(a.calls),
                    fmt(a.cache_hits),
                    fmt(a.input_tokens),
                    fmt(a.output_tokens),
                    fmt(a.cost_usd, 4),
                ]
                for a in m.ai_spend
            ],
        ),
    ]
    if m.notes:
        body.append("<h2>Примечания</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in m.notes) + "</ul>")
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc('Отчёт ' + m.partner)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_report(
    path: str | Path, metrics: PartnerMetrics, narrative_ru: str = "", narrative_uz: str = ""
) -> Path:
    """Render and write the report (UTF-8), creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(metrics, narrative_ru, narrative_uz), encoding="utf-8")
    return path


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return '<p class="muted">нет данных</p>'
    numeric = [all(_is_num(r[i]) for r in rows) for i in range(len(head))]
    th = "".join(f"<th{' class=n' if numeric[i] else ''}>{esc(h)}</th>" for i, h in enumerate(head))
    trs = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if numeric[i] else ''}>{esc(v)}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _is_num(value: object) -> bool:
    text = str(value).replace("\u202f", "").replace(".", "").replace("-", "")
    return text.isdigit() or text == "—"


def _dec(summary: dict[str, dict[str, Decimal | int]], cls: str) -> Decimal:
    return Decimal(summary.get(cls, {}).get("revenue_share_pct", 0))


def _opt(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)
