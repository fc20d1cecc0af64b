"""What ``aimanager bench fleet`` measures from outside the product: processes through ``/proc`` and the
database read-only once the run is over.

Memory of a process is its resident set (``VmRSS``). PostgreSQL is many processes sharing one buffer
pool: each backend's RSS counts the shared pages it has touched, so summing RSS would count
``shared_buffers`` once per backend. The server's figure here is the sum of the private parts
(``RssAnon``) plus the largest shared part (``RssShmem``) seen in any one of its processes — the shared
memory counted once. Only the postmaster, its helpers and the backends of the benchmark's database count
(other databases on the same server are not this run's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aimanager.jobs import Priority
from aimanager_lab.bench.figures import RunFigures

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CLIENT_MARKS = ("127.0.0.1(", "[local]", "autovacuum worker", "::1(")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:  # the process ended between listing and reading: not an error of the run
        return None


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS``, ``RssAnon``, ``RssFile``, ``RssShmem`` of ``pid`` in kB (empty if it is gone)."""
    text = _read(PROC / str(pid) / "status") or ""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[key] = int(value.split()[0])
    return out


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (``None`` if it is gone)."""
    text = _read(PROC / str(pid) / "stat")
    if text is None:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / TICK


def process_table() -> dict[int, tuple[int, str]]:
    """Every process: its parent and command line."""
    table: dict[int, tuple[int, str]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read(entry / "stat")
        cmd = _read(entry / "cmdline")
        if stat is None or cmd is None:
            continue
        table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmd.replace("\0", " ").strip())
    return table


def descendants(root: int, table: dict[int, tuple[int, str]]) -> list[int]:
    """The processes below ``root`` (children, grandchildren, …)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def postgres_pids(database: str, table: dict[int, tuple[int, str]]) -> list[int]:
    """The server's own processes and the backends serving ``database``."""
    pids = []
    for pid, (_, cmd) in table.items():
        if (
            cmd.startswith("postgres:")
            and (database in cmd.split() or not any(m in cmd for m in CLIENT_MARKS))
        ) or cmd.split(" ", 1)[0].endswith("/postgres"):
            pids.append(pid)
    return pids


def server_memory_kb(samples: list[dict[str, int]]) -> int:
    """PostgreSQL's memory from its processes' samples: private parts summed, shared memory once."""
    if not samples:
        return 0
    return sum(s.get("RssAnon", 0) for s in samples) + max(s.get("RssShmem", 0) for s in samples)


@dataclass
class Usage:
    """Peak memory and CPU of the run's processes, by role."""

    peak_rss_kb: dict[int, int] = field(default_factory=dict)  # worker pid → peak VmRSS
    cpu_first: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, float] = field(default_factory=dict)
    role: dict[int, str] = field(default_factory=dict)
    postgres_peak_kb: int = 0
    sandbox_peak_kb: int = 0

    def cpu(self, role: str) -> float:
        """CPU seconds the processes of ``role`` used while sampled."""
        return sum(self.cpu_last[p] - self.cpu_first.get(p, 0.0) for p, r in self.role.items() if r == role)

    def workers_peak_kb(self) -> list[int]:
        return sorted(kb for p, kb in self.peak_rss_kb.items() if self.role.get(p) == "worker")


class Sampler:
    """Samples the worker supervisor's children, the sandbox process and PostgreSQL. ``worker_root``:
    ``supervisor`` is itself the one worker (``aimanager worker`` without ``--processes``)."""

    def __init__(self, *, supervisor: int, sandbox: int, database: str, worker_root: bool = False) -> None:
        self.supervisor, self.sandbox, self.database = supervisor, sandbox, database
        self.worker_root = worker_root
        self.usage = Usage()
        self._started = False

    def sample(self) -> None:
        table = process_table()
        # The nearer root wins: a worker below the sandbox's process tree is still a worker.
        roles = {p: "sandbox" for p in descendants(self.sandbox, table)}
        roles.update(
            {self.supervisor: "worker" if self.worker_root else "supervisor", self.sandbox: "sandbox"}
        )
        roles.update({p: "worker" for p in descendants(self.supervisor, table)})
        roles.update({p: "postgres" for p in postgres_pids(self.database, table)})
        server: list[dict[str, int]] = []
        sandbox_kb = 0
        u = self.usage
        for pid, role in roles.items():
            used = cpu_s(pid)
            if used is None:
                continue
            if pid not in u.role:
                # A process already running at the first sample counts from there; a later one from 0.
                u.cpu_first[pid] = used if not self._started else 0.0
                u.role[pid] = role
            u.cpu_last[pid] = used
            mem = memory_kb(pid)
            if role == "postgres":
                server.append(mem)
            elif role == "sandbox":
                sandbox_kb += mem.get("VmRSS", 0)
            else:
                u.peak_rss_kb[pid] = max(u.peak_rss_kb.get(pid, 0), mem.get("VmRSS", 0))
        u.postgres_peak_kb = max(u.postgres_peak_kb, server_memory_kb(server))
        u.sandbox_peak_kb = max(u.sandbox_peak_kb, sandbox_kb)
        self._started = True


async def read_figures(
    conn: Any, *, started_epoch: float, followups_kind: str
) -> tuple[RunFigures, dict[str, Any]]:
    """The run's figures from the database (read-only): tasks, LLM use, start latency, wall.

    ``conn``: an SQLAlchemy async connection. Returns the figures and the counts by status."""
    from sqlalchemy import text

    fig = RunFigures("AI Manager (fleet)")
    tasks = dict((await conn.execute(text("SELECT status, count(*) FROM tasks GROUP BY status"))).all())
    jobs = dict((await conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status"))).all())
    fig.tasks = int(sum(tasks.values()))
    fig.succeeded = int(tasks.get("done", 0))
    calls, tin, tout, cost = (
        await conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE path <> 'cache'), coalesce(sum(input_tokens), 0),"
                " coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0) FROM ai_usage_logs"
            )
        )
    ).one()
    fig.llm_calls, fig.input_tokens, fig.output_tokens = int(calls), int(tin), int(tout)
    fig.cost_usd = Decimal(str(cost))
    card = (
        await conn.execute(
            text("SELECT coalesce(sum(cost_usd), 0) FROM ai_usage_logs WHERE task_kind = 'card'")
        )
    ).scalar_one()
    fig.card_cost_usd = Decimal(str(card))
    for prio, wait in (
        await conn.execute(text("SELECT priority, queue_wait_ms FROM jobs WHERE queue_wait_ms IS NOT NULL"))
    ).all():
        fig.latency_ms.setdefault(Priority(prio).name.lower(), []).append(float(wait))
    last, cards_out = (
        await conn.execute(
            text(
                "SELECT max(finished_at), max(finished_at) FILTER (WHERE kind = :k) FROM jobs",
            ),
            {"k": followups_kind},
        )
    ).one()
    fig.wall_s = max(0.0, float(last or started_epoch) - started_epoch)
    fig.phase_s = {
        "cards": max(0.0, float(cards_out or last or started_epoch) - started_epoch),
        "all": fig.wall_s,
    }
    failed = (
        await conn.execute(
            text("SELECT capability, reason FROM tasks WHERE status = 'failed' ORDER BY id LIMIT 6")
        )
    ).all()
    fig.failures = [f"{c}: {(r or '')[:120]}" for c, r in failed]
    dead = int(jobs.get("dead", 0)) + int(jobs.get("failed", 0))
    if dead:
        fig.failures.append(f"{dead} jobs dead-lettered")
    left = (
        await conn.execute(
            text(
                "SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running')"
                " GROUP BY kind, status ORDER BY kind, status"
            )
        )
    ).all()
    return fig, {"tasks": tasks, "jobs": jobs, "left": [f"{k} {s} {n}" for k, s, n in left]}
