"""The figures of ``aimanager bench recovery`` and their BENCHMARKS.md section (``recovery``).

Kept apart from the runs (``recovery``) so that the rendering is tested without servers.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

# Issue 14's targets.
RESUME_TARGET_S = 5.0
RERUN_TARGET_S = 15.0


@dataclass
class PgRound:
    """One ``pg_ctl restart -m fast`` while the workers drain a queue."""

    away_s: float  # restart called → the server accepts connections again
    resumed_s: float | None  # back → the first job finished; None: none finished afterwards
    workers_exited: int
    jobs: int
    lost: int  # jobs of the round that did not succeed
    ran_again: int = 0  # jobs whose lease the restart cost them (run a second time)


@dataclass
class RedisRun:
    """One cards → pricing → stock run on PostgreSQL + Redis, Redis killed for ``outage_s`` (0: not)."""

    outage_s: float
    wall_s: float
    tasks: dict[str, int]  # status → count
    redis_errors: int  # jobs whose last error mentions Redis or a connection
    marketplace_429: int  # requests the marketplace sandboxes refused for exceeding an account's limit
    llm_429: int  # requests the LLM sandbox refused for exceeding its limits
    exit_codes: list[int]
    settled: bool = True
    down_events: int = 0  # ``*.redis.down`` log events of the workers
    failed_reasons: list[str] = field(default_factory=list)
    # Work done while Redis was down and after it was back: jobs finished, LLM ledger rows written.
    jobs_while_down: int = 0
    jobs_after_back: int = 0
    llm_while_down: int = 0
    llm_after_back: int = 0

    @property
    def total(self) -> int:
        return sum(self.tasks.values())

    @property
    def failed(self) -> int:
        return self.total - self.tasks.get("done", 0)


@dataclass
class KillRun:
    """A worker holding jobs SIGKILLed; when each of its jobs started again under another worker."""

    lease_s: float
    jobs: int
    delays_s: list[float]  # per job re-run, seconds after the kill
    lease_left_s: float  # mean lease time the killed worker's jobs still had at the kill
    succeeded: int  # of its jobs, after their second run

    @property
    def p50_s(self) -> float | None:
        return statistics.median(self.delays_s) if self.delays_s else None

    @property
    def max_s(self) -> float | None:
        return max(self.delays_s) if self.delays_s else None


@dataclass
class RecoveryFigures:
    workers: int
    concurrency: int
    jobs: int
    job_ms: int
    lease_s: float
    pg: list[PgRound] = field(default_factory=list)
    redis: RedisRun | None = None
    redis_baseline: RedisRun | None = None
    kill: KillRun | None = None
    partners: int = 0
    skus: int = 0
    time_scale: float = 0.0

    def worst_resume_s(self) -> float | None:
        """The slowest resume over the rounds; None if any round never resumed (or none ran)."""
        got = [r.resumed_s for r in self.pg]
        if not got or any(s is None for s in got):
            return None
        return max(s for s in got if s is not None)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _pg_rows(f: RecoveryFigures) -> list[str]:
    rows = []
    for i, r in enumerate(f.pg, 1):
        ok = (
            r.resumed_s is not None and r.resumed_s <= RESUME_TARGET_S and not r.workers_exited and not r.lost
        )
        rows.append(
            f"| PostgreSQL `restart -m fast`, round {i} | away {r.away_s:.2f} s; first job finished "
            f"{_s(r.resumed_s)} after it was back; {r.workers_exited} of {f.workers} workers exited; "
            f"{r.lost} of {r.jobs:,} jobs lost ({r.ran_again} ran again) "
            f"| ≤ {RESUME_TARGET_S:g} s, 0 exited, 0 lost: {verdict(ok)} |"
        )
    if f.pg:
        worst = f.worst_resume_s()
        ok = worst is not None and worst <= RESUME_TARGET_S
        exited = sum(r.workers_exited for r in f.pg)
        lost = sum(r.lost for r in f.pg)
        rows.append(
            f"| PostgreSQL restart, worst of {len(f.pg)} | work resumed {_s(worst)} after the server was "
            f"back (away at most {max(r.away_s for r in f.pg):.2f} s); {exited} worker exits, {lost} jobs "
            f"lost in all | ≤ {RESUME_TARGET_S:g} s: {verdict(ok and not exited and not lost)} |"
        )
    return rows


def _redis_rows(r: RedisRun, base: RedisRun | None) -> list[str]:
    tasks = ", ".join(f"{k} {v:,}" for k, v in sorted(r.tasks.items()))
    clean = [c for c in r.exit_codes if c != 0]
    rows = [
        f"| Redis killed for {r.outage_s:.0f} s mid-run: tasks failed | {r.failed} of {r.total:,} ({tasks})"
        + ("" if r.settled else "; **the queue did not drain**")
        + f" | 0: {verdict(r.failed == 0 and r.settled)} |",
        f"| jobs with a Redis or connection error | {r.redis_errors} | 0: {verdict(r.redis_errors == 0)} |",
        f"| marketplace 429s (our own concurrency) | {r.marketplace_429} "
        f"| 0: {verdict(r.marketplace_429 == 0)} |",
        f"| LLM sandbox 429s | {r.llm_429} | — |",
        f"| worker exits (SIGTERM at the end: 0 = graceful) | {r.exit_codes} | all 0: {verdict(not clean)} |",
        f"| workers that logged Redis going down | {r.down_events} | ≥ 1 (the outage was met) |",
        f"| work while Redis was down / after it was back | {r.jobs_while_down:,} jobs finished, "
        f"{r.llm_while_down:,} LLM ledger rows / {r.jobs_after_back:,} jobs, {r.llm_after_back:,} rows | — |",
    ]
    if base is not None:
        rows.append(
            f"| wall time, run → last job finished | {r.wall_s:.1f} s with the outage, {base.wall_s:.1f} s "
            f"without ({r.wall_s - base.wall_s:+.1f} s; the run without: {base.failed} of {base.total:,} "
            "tasks failed) | — |"
        )
    else:
        rows.append(
            f"| wall time, run → last job finished | {r.wall_s:.1f} s (no run without the outage) | — |"
        )
    return rows


def _kill_row(k: KillRun) -> str:
    ok = k.max_s is not None and k.max_s <= RERUN_TARGET_S and len(k.delays_s) == k.jobs
    return (
        f"| worker SIGKILL → its jobs run again (lease {k.lease_s:g} s) | p50 {_s(k.p50_s)}, max "
        f"{_s(k.max_s)} over {len(k.delays_s)} of {k.jobs} jobs ({k.lease_left_s:.1f} s of their lease "
        f"left at the kill); {k.succeeded} of {k.jobs} then succeeded | ≤ {RERUN_TARGET_S:g} s: {verdict(ok)} |"
    )


def render(f: RecoveryFigures, *, command: str, machine: str) -> str:
    """Markdown for BENCHMARKS.md (section ``recovery``)."""
    lines = [
        "## Recovery: PostgreSQL restart, Redis outage, worker SIGKILL",
        "",
        f"Command: `{command}` — {machine}.",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        *_pg_rows(f),
    ]
    if f.redis is not None:
        lines += _redis_rows(f.redis, f.redis_baseline)
    if f.kill is not None:
        lines.append(_kill_row(f.kill))
    lines += [
        "",
        "Everything runs on loopback against servers of the bench's own (a PostgreSQL cluster and a",
        "`redis-server` in temporary directories). The work is done by `aimanager worker` processes",
        "configured by `AIMANAGER_*` variables, as an operator runs them; faults are injected from outside.",
        "",
        f"PostgreSQL: {f.workers} workers (`--concurrency {f.concurrency} --lease {f.lease_s:g}`) drain "
        f"{f.jobs:,} `sleep` jobs of {f.job_ms} ms",
        'per round; a fifth of the way in, `pg_ctl restart -m fast`. "Away" is the restart command\'s',
        'duration (it waits until the server accepts connections again); "resumed" runs from then to the',
        'first job whose `finished_at` follows; "ran again" counts jobs that lost their lease to it.',
    ]
    if f.redis is not None:
        lines += [
            "",
            f"Redis: {f.partners} partners × {f.skus} SKUs × 4 marketplaces (cards with the LLM cache and "
            "limiter on Redis,",
            f"then pricing and stock), 3 workers, sandboxes at time scale {f.time_scale:g}; `redis-server` "
            "SIGKILLed as the",
            "first jobs start and started again on its port after the outage. The run without an outage is "
            "the same",
            "on a fresh database, Redis and sandboxes.",
        ]
    if f.kill is not None:
        lines += [
            "",
            f"SIGKILL: one worker holds {f.kill.jobs} long `sleep` jobs while a second is up and idle; the "
            "first is SIGKILLed.",
            "A job's re-run is its new `started_at` under the second worker, minus the moment of the kill.",
        ]
    return "\n".join(lines)
