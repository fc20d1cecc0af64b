"""Server-side SVG charts for the console (no JavaScript charting library, nothing to download)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal


def column_chart(points: Sequence[tuple[str, Decimal]], *, width: int = 720, height: int = 200) -> str:
    """Vertical bars ``(label, value)`` left to right, each with its value as a tooltip; labels of
    every ~10th bar are drawn so a month stays readable."""
    if not points:
        return ""
    top = max((v for _, v in points), default=Decimal(0))
    pad_b, pad_t = 22, 8
    plot_h = height - pad_b - pad_t
    step = width / len(points)
    bar_w = max(2.0, step * 0.7)
    every = max(1, len(points) // 10)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for i, (label, value) in enumerate(points):
        h = 0.0 if top <= 0 or value <= 0 else float(plot_h * (value / top))
        x = i * step + (step - bar_w) / 2
        y = pad_t + plot_h - h
        tip = html.escape(f"{label}: {value:.4f}")
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#1976d2">'
            f"<title>{tip}</title></rect>"
        )
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 6}">{html.escape(label[-5:])}</text>')
    parts.append(f'<text x="{width - 4}" y="{pad_t + 10}" text-anchor="end">max {top:.4f}</text>')
    parts.append("</svg>")
    return "".join(parts)
