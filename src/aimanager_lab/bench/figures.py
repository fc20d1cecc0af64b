"""The scenario's figures: what one run measured, the bound the sandbox limits set, the Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from aimanager.connectors.ratelimit import plan_bulk
from aimanager.connectors.registry import bulk_profiles


@dataclass
class RunFigures:
    name: str
    wall_s: float = 0.0
    tasks: int = 0
    succeeded: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    card_cost_usd: Decimal = Decimal(0)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # >1 when the run covered a sample of the partners: totals are extrapolated by this factor.
    sample_factor: float = 1.0
    phase_s: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU time of this process (all its threads) during the run

    def pct(self, prio: str, q: float) -> float | None:
        xs = sorted(self.latency_ms.get(prio, []))
        if not xs:
            return None
        return xs[min(len(xs) - 1, int(len(xs) * q))]


def limit_bound(
    ours: RunFigures, *, partners: int, skus: int, rpm: int, itpm: int, otpm: int
) -> dict[str, float]:
    """Least wall time (sandbox seconds) the limits allow for our run: LLM first, then the bulk writes."""
    llm = 60.0 * max(ours.llm_calls / rpm, ours.input_tokens / itpm, ours.output_tokens / otpm)
    market = 0.0
    for prof in bulk_profiles():
        price = plan_bulk(
            prof.price_batch, prof.price_limits, partners=partners, skus=skus, follow=prof.price_follow_calls
        )
        stock = plan_bulk(prof.stock_batch, prof.stock_limits, partners=partners, skus=skus)
        market = max(market, price.seconds, stock.seconds)
    return {"llm_s": llm, "market_s": market, "total_s": llm + market}


# The LLM sandbox's mean speed: 0.5-1 s to the first token, then 100-200 output tokens a second.
MEAN_TTFT_S, MEAN_TPS = 0.75, 150.0


def longest_call_s(fig: RunFigures, cards: int, pack: int = 20) -> float:
    """Sandbox seconds of one full 20-card pack at the sandbox's mean speed: the limits cannot make the
    run end before the last pack admitted has written its answer (nor the first card arrive sooner)."""
    per_card = fig.output_tokens / max(1, cards)  # narratives are a rounding error next to cards
    return MEAN_TTFT_S + per_card * pack / MEAN_TPS


def render(
    ours: RunFigures,
    base: RunFigures,
    bound: dict[str, float],
    *,
    command: str,
    machine: str,
    time_scale: float,
    partners: int,
    skus: int,
) -> str:
    """Markdown for BENCHMARKS.md."""

    def lat(f: RunFigures, prio: str) -> str:
        p50, p99 = f.pct(prio, 0.5), f.pct(prio, 0.99)
        return "-" if p50 is None or p99 is None else f"{p50:,.0f} / {p99:,.0f}"

    def row(label: str, a: str, b: str) -> str:
        return f"| {label} | {a} | {b} |"

    k = base.sample_factor
    sampled = (
        f" (measured on {base.tasks:,} tasks = 1/{k:g} of the partners, totals ×{k:g})" if k != 1 else ""
    )
    lines = [
        "## Scenario: 100 partners × 4 marketplaces × 100 SKUs",
        "",
        f"Command: `{command}` — {machine}. Time scale {time_scale:g} (1 = real time): sandbox delays and",
        "limit windows are multiplied by it.",
        "The original design is latency-bound (ten workers waiting on calls): its time grows linearly with",
        "its task count, which is what makes sampling it on a subset of partners and scaling up sound.",
        f"Catalog: {partners} partners × {skus} SKUs on 4 marketplaces.",
        "",
        "| measure | AI Manager | original design |",
        "|---|---|---|",
        row("tasks", f"{ours.tasks:,}", f"{base.tasks * k:,.0f}{sampled}"),
        row("wall time (s)", f"{ours.wall_s:,.1f}", f"{base.wall_s * k:,.1f}"),
        row("speed-up", f"{base.wall_s * k / ours.wall_s:,.1f}×" if ours.wall_s else "-", "1×"),
        row("LLM calls", f"{ours.llm_calls:,}", f"{base.llm_calls * k:,.0f}"),
        row(
            "input / output tokens",
            f"{ours.input_tokens:,} / {ours.output_tokens:,}",
            f"{base.input_tokens * k:,.0f} / {base.output_tokens * k:,.0f}",
        ),
        row("AI cost (pinned prices)", f"${ours.cost_usd:.2f}", f"${base.cost_usd * Decimal(str(k)):.2f}"),
        row("AI cost of the 40,000 card tasks", f"${ours.card_cost_usd:.2f}", "-"),
        row(
            "tasks succeeded",
            f"{ours.succeeded:,} ({100 * ours.succeeded / max(1, ours.tasks):.2f} %)",
            f"{base.succeeded:,} ({100 * base.succeeded / max(1, base.tasks):.2f} %)",
        ),
        row("start latency p50 / p99, urgent (ms)", lat(ours, "urgent"), lat(base, "urgent")),
        row("start latency p50 / p99, medium (ms)", lat(ours, "medium"), lat(base, "medium")),
        row("start latency p50 / p99, low (ms)", lat(ours, "low"), lat(base, "low")),
        "",
        f"Bound set by the sandbox limits for AI Manager's calls: LLM {bound['llm_s'] * time_scale:,.1f} s "
        f"+ bulk writes {bound['market_s'] * time_scale:,.1f} s + one pack's duration "
        f"{(bound['total_s'] - bound['llm_s'] - bound['market_s']) * time_scale:,.1f} s "
        f"= {bound['total_s'] * time_scale:,.1f} s wall "
        f"({bound['total_s'] / 60:,.1f} min real); AI Manager took "
        f"{ours.wall_s / max(1e-9, bound['total_s'] * time_scale):.2f}× the bound.",
    ]
    busy = base.phase_s.get("llm", 0.0) + base.phase_s.get("marketplace", 0.0)
    if busy:
        llm_share = base.phase_s.get("llm", 0.0) / busy
        lines += [
            "",
            f"Where the original design's time goes: of its ten workers' busy time, {llm_share:.0%} waited "
            f"on LLM calls (one call per task, each a full round trip of 1-20 s at a real model's speed) and "
            f"{1 - llm_share:.0%} on marketplace calls, one per SKU — where the marketplaces' per-method "
            "limits (WB: 10 card uploads a minute per account; Ozon and Yandex Market per-second quotas) "
            "hold it back. It ran on accounts and a database of its own, seeded like AI Manager's.",
        ]
    if ours.phase_s:
        cards_s = ours.phase_s.get("cards", 0.0)
        llm_s = bound["llm_s"] * time_scale
        lines += [
            "",
            f"AI Manager's last partner had its cards out at {cards_s:,.1f} s, against the LLM bound of "
            f"{llm_s:,.1f} s ({cards_s / max(1e-9, llm_s):.2f}×); each partner's pricing, stock and "
            "analytics jobs are queued as soon as its own cards are out, so they overlap the card "
            f"backlog of the others and the run ended {ours.wall_s - cards_s:,.1f} s after the last cards. "
            "Stock and analytics share one read of each account's order history (WB's finance report "
            "allows one request per minute per account).",
            "",
            f"AI Manager's worker process used {ours.cpu_s:,.0f} s of CPU in {ours.wall_s:,.0f} s of wall "
            f"time ({100 * ours.cpu_s / max(1e-9, ours.wall_s):.0f} % of one core; the sandboxes run in "
            "another process). Near 100 %, the run is bound by this one process's CPU, not by the "
            "sandboxes' limits: the bound above counts only the latter.",
        ]
    if ours.failures:
        lines += ["", "AI Manager's failures (first few): " + "; ".join(ours.failures[:6])]
    if base.failures:
        lines += ["", "The original design's failures (first few): " + "; ".join(base.failures[:6])]
    return "\n".join(lines)
