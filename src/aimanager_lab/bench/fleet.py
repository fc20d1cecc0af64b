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

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimanager_lab.bench.figures import RunFigures, limit_bound, longest_call_s
from aimanager_lab.bench.fleet_measure import Sampler, Usage, read_figures
from aimanager_lab.sample_catalog import generate_catalog, write_catalog

# The LLM sandbox's default limits (``aimanager_sandbox.llm.SandboxConfig``), which ``sandbox up`` keeps.
LLM_RPM, LLM_ITPM, LLM_OTPM = 4000, 4_000_000, 800_000
FOLLOWUPS_KIND = "run.followups"
CAPABILITIES = ("cards", "pricing", "stock", "analytics")


@dataclass(frozen=True)
class FleetOptions:
    partners: int = 100
    skus: int = 10
    workers: int = 2
    concurrency: int = 64
    time_scale: float = 0.05
    history_days: int = 30
    pg_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/aimanager_fleet"
    redis_url: str = "redis://127.0.0.1:6379/5"  # "": no Redis (each process limits and caches alone)
    timeout_s: float = 3600.0
    sample_s: float = 1.0
    keep_database: bool = False


@dataclass
class FleetResult:
    options: FleetOptions
    figures: RunFigures
    counts: dict[str, Any]
    usage: Usage
    bound: dict[str, float]
    drained: bool
    setup_s: dict[str, float] = field(default_factory=dict)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def recreate_database(url: str, *, drop_only: bool = False) -> None:
    """Drop the bench database and (unless ``drop_only``) create it empty."""
    import asyncpg

    base, name = _plain(url).rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def flush_redis(url: str) -> None:
    """Empty the bench's Redis database: an LLM cache left by an earlier run would make this one cheap."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def product_env(options: FleetOptions, workdir: Path) -> dict[str, str]:
    """The environment an operator sets for every ``aimanager`` command: the database, Redis and the key
    of the credentials at rest; no inherited ``AIMANAGER_*`` (a developer's shell must not leak in)."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    if options.redis_url:
        env["AIMANAGER_REDIS_URL"] = options.redis_url
    env.update(
        {
            "AIMANAGER_DATABASE_URL": options.pg_url,
            "AIMANAGER_SECRET_KEY": Fernet.generate_key().decode(),
            "AIMANAGER_EXPORTS_DIR": str(workdir / "exports"),
            "AIMANAGER_MEDIA_URL": str(workdir / "media"),
        }
    )
    return env


def aimanager(*args: str) -> list[str]:
    """The ``aimanager`` command, as installed beside this interpreter."""
    return [sys.executable, "-m", "aimanager", *args]


def run_step(args: list[str], env: dict[str, str], cwd: Path, log: Callable[[str], None]) -> float:
    """Run one command to its end; its seconds. A failing step stops the bench with its output."""
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=3600)
    took = time.monotonic() - started
    tail = (done.stdout.strip().splitlines() or [""])[0][:160]
    log(f"  {' '.join(args[3:5])}: {took:.1f} s — {tail}")
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[2:])} exited {done.returncode}: {done.stderr[-2000:] or done.stdout[-2000:]}"
        )
    return took


def wait_for_state(path: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> dict[str, Any]:
    """The sandbox state file once ``sandbox up`` has written it."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox up exited {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox up not ready in {timeout_s:.0f} s")
        time.sleep(0.2)
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def stop(proc: subprocess.Popen[bytes] | None, timeout_s: float = 60.0) -> None:
    """SIGTERM (graceful for workers and sandboxes), then SIGKILL to its whole process group (started
    with ``start_new_session``) if it does not end in time: a supervisor killed alone would leave its
    workers running."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def queue_left(conn: Any) -> int:
    """Jobs still queued or running (read-only)."""
    from sqlalchemy import text

    result = await conn.execute(text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"))
    return int(result.scalar_one())


async def run_fleet(options: FleetOptions, log: Callable[[str], None] = print) -> FleetResult:
    """The whole benchmark; sandboxes and workers are stopped whatever happens."""
    from sqlalchemy.ext.asyncio import create_async_engine

    workdir = Path(tempfile.mkdtemp(prefix="aim-fleet-"))
    await recreate_database(options.pg_url)
    if options.redis_url:
        flush_redis(options.redis_url)
    env = product_env(options, workdir)
    catalog = write_catalog(workdir / "catalog.csv", generate_catalog(options.partners, options.skus))
    state_file, accounts = workdir / "sandboxes.json", workdir / "accounts.jsonl"
    sandbox = worker = None
    setup: dict[str, float] = {}
    engine = create_async_engine(options.pg_url, pool_size=1, max_overflow=0)
    worker_log = (workdir / "worker.log").open("wb")  # the workers' one line per job, kept for a look after
    try:
        started = time.monotonic()
        sandbox = subprocess.Popen(
            aimanager(
                "sandbox", "up", "--time-scale", str(options.time_scale), "--no-telegram",
                "--state-file", str(state_file), "--catalog", str(catalog), "--accounts-file", str(accounts),
                "--history-days", str(options.history_days),
            ),
            env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        state = wait_for_state(state_file, sandbox, options.timeout_s)
        setup["sandbox up (accounts seeded)"] = time.monotonic() - started
        log(
            f"  sandbox up: {setup['sandbox up (accounts seeded)']:.1f} s, {state['fleet']['accounts']} accounts"
        )
        env.update(state["env"])  # the LLM gateway pointed at the LLM sandbox, as `sandbox up` prints it
        setup["init"] = run_step(aimanager("init"), env, workdir, log)
        setup["import"] = run_step(aimanager("import", str(catalog)), env, workdir, log)
        setup["partners import"] = run_step(aimanager("partners", "import", str(accounts)), env, workdir, log)
        worker = subprocess.Popen(
            aimanager("worker", "--processes", str(options.workers), "--concurrency", str(options.concurrency)),
            env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=worker_log, start_new_session=True,
        )  # fmt: skip
        sampler = Sampler(
            supervisor=worker.pid, sandbox=sandbox.pid, database=options.pg_url.rsplit("/", 1)[1]
        )
        sampler.sample()
        started_epoch = time.time()  # the jobs table keeps epoch seconds
        run_args = [a for c in CAPABILITIES for a in ("-c", c)]
        run = subprocess.Popen(aimanager("run", *run_args), env=env, cwd=workdir, stdout=subprocess.PIPE)
        drained = False
        deadline = time.monotonic() + options.timeout_s
        async with engine.connect() as conn:
            while time.monotonic() < deadline:
                await asyncio.sleep(options.sample_s)
                sampler.sample()
                if run.poll() is None:
                    continue
                if await queue_left(conn) == 0:
                    drained = True
                    break
                await conn.commit()  # a fresh snapshot for the next look
        out = run.communicate()[0].decode(errors="replace").strip().splitlines()
        log(f"  run: {out[0] if out else run.returncode}")
        sampler.sample()
        async with engine.connect() as conn:
            # What was still queued or running when the bench stopped waiting (before the workers'
            # graceful stop puts their running jobs back in the queue).
            left = (await read_figures(conn, started_epoch=started_epoch, followups_kind=FOLLOWUPS_KIND))[1]
        stop(worker)
        async with engine.connect() as conn:
            fig, counts = await read_figures(conn, started_epoch=started_epoch, followups_kind=FOLLOWUPS_KIND)
        counts["left"] = left["left"]
    finally:
        stop(worker)
        stop(sandbox)
        worker_log.close()
        await engine.dispose()
        if not options.keep_database:
            await recreate_database(options.pg_url, drop_only=True)
    fig.cpu_s = sampler.usage.cpu("worker")
    cards = options.partners * options.skus
    bound = limit_bound(
        fig, partners=options.partners, skus=options.skus, rpm=LLM_RPM, itpm=LLM_ITPM, otpm=LLM_OTPM
    )
    bound = {**bound, "total_s": bound["total_s"] + longest_call_s(fig, cards=cards)}
    return FleetResult(options, fig, counts, sampler.usage, bound, drained, setup)


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
