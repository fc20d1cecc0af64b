"""The published figures of ``aimanager bench llm``: bounds, per-card figures and the section text.

Kept apart from the runs so the arithmetic that becomes a published figure has tests of its own
(``tests/lab/test_llm_report.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aimanager.llm.prices import PriceTable, default_prices
from aimanager.llm.types import Usage

# The original design's own arithmetic: one Haiku call per listing, 600 tokens in and 350 out, at the
# pinned Haiku 5.5 prices ($0.10 / $0.50 per million): $0.000235 a listing, $9.40 per 40,000.
ORIGINAL_PER_40K = Decimal("9.40")
ORIGINAL_MODEL = "claude-haiku-5-5"
ORIGINAL_INPUT_TOKENS = 600
ORIGINAL_OUTPUT_TOKENS = 350
ORIGINAL_CALLS = 40_000  # one call per listing
LISTINGS_PER_PRODUCT = 4  # the sample catalog lists every product on the four marketplaces
# The sandbox's defaults: time to first token 0.5-1 s, output 100-200 tokens/s per call.
MEAN_TTFT_S = 0.75
MEAN_TPS = 150.0


def limit_bound_s(stats: dict[str, Any], limits: dict[str, int], time_scale: float) -> tuple[float, str]:
    """Real seconds the provider's limits need for the work sent, and which limit binds."""
    minutes = {
        "RPM": stats["calls"] / limits["rpm"],
        "ITPM": (stats["input_tokens"] + stats["cache_write_tokens"]) / limits["itpm"],
        "OTPM": stats["output_tokens"] / limits["otpm"],
    }
    which, m = max(minutes.items(), key=lambda kv: kv[1])
    return m * 60 * time_scale, which


def call_s(output_tokens_per_call: float, time_scale: float) -> float:
    """Real seconds one call writing that much takes at the sandbox's mean speed."""
    return (MEAN_TTFT_S + output_tokens_per_call / MEAN_TPS) * time_scale


def bound_s(
    stats: dict[str, Any], limits: dict[str, int], time_scale: float, *, cards: int, pack: int = 20
) -> tuple[float, str]:
    """The least wall time possible: the limits' time plus one full pack's call (the last pack admitted
    at the limits' pace still takes a pack's duration to finish; the first answer takes one too)."""
    limit_s, which = limit_bound_s(stats, limits, time_scale)
    per_pack = stats["output_tokens"] / max(1, cards) * pack
    return limit_s + call_s(per_pack, time_scale), which


def per_40k_listings(cost_usd: Decimal, products: int) -> Decimal:
    """Cost of 40,000 listings (10,000 products on four marketplaces: one card per product)."""
    if products <= 0:
        return Decimal(0)
    return (cost_usd / products * Decimal(40_000) / LISTINGS_PER_PRODUCT).quantize(Decimal("0.01"))


def original_per_40k(
    out_per_card: float, *, batch: bool = False, prices: PriceTable | None = None
) -> Decimal:
    """The original design's arithmetic at a given card size: 40,000 Haiku calls (one per listing) of
    600 input tokens and ``out_per_card`` output tokens each, at the pinned prices (the Batch API's
    discount when ``batch``). At 350 tokens a card this is the design's own $9.40; at the size a card
    really has, it is what that design would pay for the same cards."""
    usage = Usage(input_tokens=ORIGINAL_INPUT_TOKENS, output_tokens=round(out_per_card))
    one_call = (prices or default_prices()).cost(ORIGINAL_MODEL, usage, batch=batch)
    return (one_call * ORIGINAL_CALLS).quantize(Decimal("0.01"))


def times_below(reference: Decimal, ours: Decimal) -> str:
    """``reference`` over ``ours``, as the table shows it."""
    return f"{reference / ours:.1f}× below" if ours else "-"


def sandbox_line(label: str, server: dict[str, Any]) -> str:
    """What the LLM sandbox saw in one run: calls cut by max_tokens, 429s, imperfect answers by kind."""
    bad = {k: v for k, v in sorted(server.get("bad_answers", {}).items()) if v}
    kinds = ", ".join(f"{k} {v}" for k, v in bad.items())
    return (
        f"{label}: {server.get('cut_calls', 0)} cut, {server.get('throttled', 0)} throttled (429), "
        f"{sum(bad.values())} imperfect answers" + (f" ({kinds})" if kinds else "")
    )


def render_llm(
    runs: list[tuple[str, bool, dict[str, Any]]],
    *,
    items: int,
    time_scale: float,
    limits: dict[str, int],
    batch_seconds: float,
    bad_answer_rate: float,
    command: str,
    machine: str,
    public: bool = False,
) -> str:
    """The ``llm`` section. ``public``: the runs went through the product's commands (``public_runs``)."""
    how = (
        [
            "Through the product's public commands, each pass on a fresh sandbox and SQLite database: "
            "`sandbox up`, `init`, `import`, `partners import`, one `worker`, then `run -c cards` (real "
            "time) or `run -c cards --priority low` (the Batch API; `AIMANAGER_LLM_BATCH_ENABLED=true` in "
            "both). Figures from the ledger (`ai_usage_logs`), the card tasks (per product) and the "
            "sandbox's `/_sandbox/stats`; wall = the card jobs' queueing to the last one's end.",
            "",
        ]
        if public
        else []
    )
    lines = [
        "## LLM gateway: cards against the honest LLM sandbox",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine}  ",
        *how,
        "Sandbox (own process): tokens counted with a real BPE tokenizer (cl100k for Claude models), "
        "latency = 0.5-1 s to the first token + output at 100-200 tokens/s, "
        f"{limits['rpm']:,} RPM / {limits['itpm']:,} ITPM / {limits['otpm']:,} OTPM per model (OTPM "
        f"charged with max_tokens at the start, as Anthropic does), a model that writes {bad_answer_rate:.0%} "
        "imperfect answers (invalid JSON, missing items, Cyrillic Uzbek, invented numbers, empty "
        f"Uzbek descriptions, refusals, chatter), 0.5 % 529s; batches end after {batch_seconds:g} sandbox s "
        f"with 0.5 % of items expired and 0.5 % errored. Time scale {time_scale}. Products: the sample "
        "catalog (complete facts), one ru+uz card per product for its four marketplaces.",
        "",
        "| run | cards written | rejected / needs input | calls | cut by max_tokens | output tok / card | escalations (USD) | "
        "cost (USD) | per 40,000 listings | vs $9.40 | original design at this card size | wall (s) | "
        "bound (s) | wall / bound |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, batch, run in runs:
        s = run["stats"]
        cost = Decimal(s["cost_usd"])
        per40k = per_40k_listings(cost, items)
        failed = ", ".join(f"{k} {v}" for k, v in sorted(run["failures"].items())) or "0"
        cut_share = s["cut_calls"] / max(1, s["calls"])
        out_per_card = s["output_tokens"] / max(1, run["ok"])
        same_size = original_per_40k(out_per_card, batch=batch)
        if batch:
            bound = f"{batch_seconds * time_scale:.1f} (turnaround)"
            ratio = f"{run['wall_s'] / (batch_seconds * time_scale):.2f}"
        else:
            b, which = bound_s(s, limits, time_scale, cards=run["ok"])
            bound, ratio = f"{b:.1f} ({which} + 1 pack)", f"{run['wall_s'] / b:.2f}"
        lines.append(
            f"| {label} | {run['ok']:,} / {items:,} ({run['ok'] / items:.2%}) | {failed} | {s['calls']:,} | "
            f"{s['cut_calls']} ({cut_share:.1%}) | {out_per_card:,.0f} | {s['escalations']} "
            f"({Decimal(s['escalation_usd']):.4f}) | {cost:.4f} | ${per40k} | "
            f"{times_below(ORIGINAL_PER_40K, per40k)} | ${same_size} ({times_below(same_size, per40k)}) | "
            f"{run['wall_s']:.1f} | {bound} | {ratio} |"
        )
    served = [(label, run["server"]) for label, _, run in runs if run.get("server")]
    if served:
        lines += [
            "",
            "The LLM sandbox's own count (`/_sandbox/stats`): "
            + "; ".join(sandbox_line(*x) for x in served)
            + ".",
        ]
    realtime = next((run for _, batch, run in runs if not batch), None)
    if realtime and realtime["rerun"]:
        r = realtime["rerun"]
        first = Decimal(realtime["stats"]["cost_usd"])
        share = Decimal(r["cost_usd"]) / first if first else Decimal(0)
        lines += [
            "",
            f"Unchanged re-run of the same {items:,} requests: {r['hits']:,} cache hits, {r['calls']} calls, "
            f"${Decimal(r['cost_usd']):.4f} ({share:.2%} of the first run), {r['wall_s']:.1f} s.",
        ]
    lines += [
        "",
        "Bound = the provider's limits for the work actually sent (max of calls / RPM, input / ITPM, "
        "output / OTPM) plus one 20-card pack's duration at the sandbox's mean speed, in real seconds. "
        "Per 40,000 listings = cost per card × 10,000 (each card serves a product's four listings); "
        "$9.40 is the original design's own arithmetic (one Haiku call per listing, 600 in / 350 out). "
        '"At this card size" is the same arithmetic with the output tokens a card measured here: '
        f"{ORIGINAL_CALLS:,} calls × ({ORIGINAL_INPUT_TOKENS} in at $0.10/M + output per card at $0.50/M), "
        "half that through the Batch API (for the Batch API row).",
    ]
    return "\n".join(lines)
