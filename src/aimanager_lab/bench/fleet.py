"""``aimanager bench fleet``: many partners on PostgreSQL + Redis with N worker processes, driven only
through the commands an operator runs.

Nothing here runs product code in this process: every step is a public command in a subprocess, with
its settings passed as an operator passes them (``AIMANAGER_*`` environment variables)::

    aimanager sandbox up --time-scale S --state-file … --catalog catalog.csv --accounts-file accounts.jsonl
    aimanager init
    aimanager import catalog.csv
    aimanager partners import accounts.jsonl
    aimanager worker --processes N --concurrency C          (the supervisor keeps N workers alive)
    aimanager run -c cards -c pricing -c stock -c analytics

The sandboxes run with their honest defaults (LLM faults, imperfect answers; marketplace limits), every
delay and limit window compressed by the time scale. The bench then waits until the queue has drained,
looking at the database read-only, samples the processes' memory and CPU through ``/proc`` meanwhile
(``fleet_measure``), and reads the figures from the database afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aimanager_lab.bench.figures import RunFigures, limit_bound, longest_call_s
from aimanager_lab.bench.fleet_measure import Usage
from aimanager_lab.bench.public_run import run_public
from aimanager_sandbox.knobs import SandboxKnobs

# The LLM sandbox's default limits (``aimanager_sandbox.llm.SandboxConfig``), which ``sandbox up`` keeps.
LLM_RPM, LLM_ITPM, LLM_OTPM = 4000, 4_000_000, 800_000
CAPABILITIES = ("cards", "pricing", "stock", "analytics")


@dataclass(frozen=True)
class FleetOptions:
    """What one public-path run does (``public_run.run_public``); the defaults are ``bench fleet``'s."""

    partners: int = 100
    skus: int = 10
    workers: int = 2
    concurrency: int = 64
    time_scale: float = 0.05
    history_days: int = 30
    # PostgreSQL (dropped and created) or SQLite (``sqlite+aiosqlite:///path``, a fresh file).
    pg_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/aimanager_fleet"
    redis_url: str = "redis://127.0.0.1:6379/5"  # "": no Redis (each process limits and caches alone)
    timeout_s: float = 3600.0
    sample_s: float = 1.0
    keep_database: bool = False
    capabilities: tuple[str, ...] = CAPABILITIES  # `run -c …`
    priority: str | None = None  # `run --priority …`; None: the command's default (medium)
    single_worker: bool = False  # one `worker --concurrency C`, no supervisor (`workers` unused)
    sandbox: SandboxKnobs = field(default_factory=SandboxKnobs)  # `sandbox up` faults and limits
    # More operator settings for every command (``AIMANAGER_LLM_BATCH_ENABLED=true`` …).
    extra_env: tuple[tuple[str, str], ...] = ()


@dataclass
class FleetResult:
    options: FleetOptions
    figures: RunFigures
    counts: dict[str, Any]
    usage: Usage
    bound: dict[str, float]
    drained: bool
    setup_s: dict[str, float] = field(default_factory=dict)
    llm_stats: dict[str, Any] = field(default_factory=dict)


async def run_fleet(options: FleetOptions, log: Callable[[str], None] = print) -> FleetResult:
    """The whole benchmark; sandboxes and workers are stopped whatever happens."""
    done = await run_public(options, log)
    fig = done.figures
    cards = options.partners * options.skus
    bound = limit_bound(
        fig,
        partners=options.partners,
        skus=options.skus,
        rpm=options.sandbox.llm_rpm or LLM_RPM,
        itpm=options.sandbox.llm_itpm or LLM_ITPM,
        otpm=options.sandbox.llm_otpm or LLM_OTPM,
    )
    bound = {**bound, "total_s": bound["total_s"] + longest_call_s(fig, cards=cards)}
    return FleetResult(
        options, fig, done.counts, done.usage, bound, done.drained, done.setup_s, done.llm_stats
    )


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


def render_fleet(result: FleetResult, *, command: str, machine: str) -> str:
    """Markdown for BENCHMARKS.md (section ``fleet``)."""
    o, f, u, b = result.options, result.figures, result.usage, result.bound
    scale = o.time_scale
    bound_wall = b["total_s"] * scale

    def lat(prio: str) -> str:
        p50, p99 = f.pct(prio, 0.5), f.pct(prio, 0.99)
        n = len(f.latency_ms.get(prio, []))
        return "-" if p50 is None or p99 is None else f"{p50:,.0f} / {p99:,.0f} ({n:,} jobs)"

    workers = u.workers_peak_kb()
    by_status = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts["tasks"].items())) or "none"
    jobs = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts["jobs"].items())) or "none"
    setup = ", ".join(f"{k} {v:,.1f} s" for k, v in result.setup_s.items())
    wall = f.wall_s
    cpus = os.cpu_count() or 1
    busy = (u.cpu("worker") + u.cpu("sandbox") + u.cpu("postgres")) / max(1e-9, wall * cpus)
    lines = [
        f"## Fleet: {o.partners:,} partners × 4 marketplaces × {o.skus} SKUs, {o.workers} worker processes",
        "",
        f"Command: `{command}` — {machine}.",
        "Only public commands, each a process with `AIMANAGER_*` settings: `sandbox up --catalog` (an account",
        "per partner and marketplace, honest LLM), `init`, `import`, `partners import`, `worker --processes "
        f"{o.workers} --concurrency {o.concurrency}`,",
        f"`run -c cards -c pricing -c stock -c analytics`; PostgreSQL. Time scale {scale:g} (1 = real "
        "time). "
        + (f"Redis {o.redis_url}." if o.redis_url else "No Redis.")
        + " Setup (not in the wall time): "
        + setup
        + ".",
        "",
        "| measure | value |",
        "|---|---|",
        f"| wall time, `run` to the last job finished | {wall:,.1f} s"
        + ("" if result.drained else " (**did not drain** before the timeout)")
        + " |",
        f"| bound set by the sandbox limits | {bound_wall:,.1f} s (LLM {b['llm_s'] * scale:,.1f} s + bulk writes "
        f"{b['market_s'] * scale:,.1f} s + one pack); took {wall / max(1e-9, bound_wall):.2f}× the bound |",
        # Wall ÷ time scale would say nothing about real time when this machine's CPU is what binds
        # (compressed runs usually are): the CPU share says which it was; the bound scales exactly.
        f"| the same bound at real time | {b['total_s'] / 3600:,.2f} h |",
        f"| CPU used, all processes | {busy:.0%} of {cpus} CPUs over the wall time"
        + (" (bound by this machine's CPU, not by the limits)" if busy >= 0.85 else "")
        + " |",
        f"| last partner's cards out | {f.phase_s.get('cards', 0.0):,.1f} s |",
        f"| tasks | {f.tasks:,}: {by_status} |",
        f"| tasks succeeded | {100 * f.succeeded / max(1, f.tasks):.2f} % |",
        f"| jobs | {jobs} |",
        f"| LLM calls, input / output tokens | {f.llm_calls:,}, {f.input_tokens:,} / {f.output_tokens:,} |",
        f"| AI cost (pinned prices) | ${f.cost_usd:.2f} (cards ${f.card_cost_usd:.2f}) |",
        f"| start latency p50 / p99, urgent (ms) | {lat('urgent')} |",
        f"| start latency p50 / p99, high (ms) | {lat('high')} |",
        f"| start latency p50 / p99, medium (ms) | {lat('medium')} |",
        f"| start latency p50 / p99, low (ms) | {lat('low')} |",
        f"| peak RSS per worker process | {', '.join(_mb(kb) for kb in workers) or '-'} |",
        f"| peak memory of PostgreSQL (private summed + shared once) | {_mb(u.postgres_peak_kb)} |",
        f"| peak RSS of the sandbox process | {_mb(u.sandbox_peak_kb)} |",
        f"| CPU: workers / sandboxes / PostgreSQL | {u.cpu('worker'):,.0f} s / {u.cpu('sandbox'):,.0f} s / "
        f"{u.cpu('postgres'):,.0f} s in {wall:,.0f} s wall ({cpus} CPUs) |",
    ]
    if result.counts.get("left"):
        lines += ["", "Jobs left when the bench stopped waiting: " + ", ".join(result.counts["left"])]
    if f.failures:
        lines += ["", "Failures (first few): " + "; ".join(f.failures[:6])]
    return "\n".join(lines)
