"""One run of the product through its public commands only, the harness of ``bench fleet``, ``bench
scenario`` and ``bench llm``.

Every step is an ``aimanager …`` subprocess with its settings passed as an operator passes them
(``AIMANAGER_*`` environment variables)::

    aimanager sandbox up --time-scale S --catalog catalog.csv --accounts-file accounts.jsonl [faults, limits]
    aimanager init
    aimanager import catalog.csv
    aimanager partners import accounts.jsonl
    aimanager serve --port P  +  aimanager apikeys create …     (only when the run needs the HTTP API)
    aimanager worker --processes N --concurrency C               (or one ``worker --concurrency C``)
    aimanager run -c … [--priority …]

Once ``run`` has queued the backlog, an optional ``during`` coroutine plays the operator (e.g. urgent
repricings through the HTTP API). The harness waits until the queue has drained, looking at the database read-only, samples
the processes through ``/proc`` meanwhile, and afterwards reads the figures from the database and the
LLM sandbox's ``/_sandbox/stats``. PostgreSQL (dropped and created) or SQLite (a fresh file).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimanager_lab.bench.figures import RunFigures
from aimanager_lab.bench.fleet_measure import Sampler, Usage, read_figures
from aimanager_lab.sample_catalog import generate_catalog, write_catalog

if TYPE_CHECKING:
    from aimanager_lab.bench.fleet import FleetOptions

FOLLOWUPS_KIND = "run.followups"


@dataclass
class RunContext:
    """What ``during`` gets: the operator's environment, the sandboxes' state and the API, if served."""

    env: dict[str, str]
    workdir: Path
    state: dict[str, Any]
    catalog: list[dict[str, str]]
    api_url: str | None = None
    api_token: str | None = None


@dataclass
class PublicRun:
    figures: RunFigures
    counts: dict[str, Any]
    usage: Usage
    drained: bool
    setup_s: dict[str, float] = field(default_factory=dict)
    llm_stats: dict[str, Any] = field(default_factory=dict)  # the LLM sandbox's /_sandbox/stats
    run_output: str = ""  # what `aimanager run` printed
    during: Any = None  # what the ``during`` coroutine returned
    started_epoch: float = 0.0  # when `run` was started (the jobs table keeps epoch seconds)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def recreate_database(url: str, *, drop_only: bool = False) -> None:
    """Drop the bench database and (unless ``drop_only``) create it empty; for SQLite, its file."""
    if is_sqlite(url):
        path = sqlite_path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
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
            **dict(options.extra_env),
        }
    )
    return env


def aimanager(*args: str) -> list[str]:
    """The ``aimanager`` command, as installed beside this interpreter."""
    return [sys.executable, "-m", "aimanager", *args]


def run_step(args: list[str], env: dict[str, str], cwd: Path, log: Callable[[str], None]) -> float:
    """Run one command to its end; its seconds. A failing step stops the bench with its output."""
    return run_command(args, env, cwd, log)[0]


def run_command(
    args: list[str], env: dict[str, str], cwd: Path, log: Callable[[str], None]
) -> tuple[float, str]:
    """``run_step`` that also returns what the command printed."""
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=3600)
    took = time.monotonic() - started
    tail = (done.stdout.strip().splitlines() or [""])[0][:160]
    log(f"  {' '.join(args[3:5])}: {took:.1f} s — {tail}")
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[2:])} exited {done.returncode}: {done.stderr[-2000:] or done.stdout[-2000:]}"
        )
    return took, done.stdout


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


def sandbox_args(options: FleetOptions, state_file: Path, catalog: Path, accounts: Path) -> list[str]:
    """``aimanager sandbox up …`` for these options: faults and limits only when asked for, so the
    sandboxes keep their honest defaults otherwise."""
    args = [
        "sandbox", "up", "--time-scale", str(options.time_scale), "--no-telegram",
        "--state-file", str(state_file), "--catalog", str(catalog), "--accounts-file", str(accounts),
        "--history-days", str(options.history_days),
    ]  # fmt: skip
    args += options.sandbox.flags()
    return aimanager(*args)


def worker_args(options: FleetOptions, metrics_port: int) -> list[str]:
    """One ``worker --concurrency C`` process, or a supervisor keeping ``--processes N`` alive; its
    ``/healthz`` on ``metrics_port`` says when it is up."""
    processes = [] if options.single_worker else ["--processes", str(options.workers)]
    return aimanager(
        "worker", *processes, "--concurrency", str(options.concurrency), "--metrics-port", str(metrics_port)
    )


def run_args(options: FleetOptions) -> list[str]:
    args = [a for c in options.capabilities for a in ("-c", c)]
    if options.priority:
        args += ["--priority", options.priority]
    return aimanager("run", *args)


PLANNED = re.compile(r"(\w+) (\d+) \((\w+)\)")


def planned_tasks(run_output: str) -> dict[str, int]:
    """Tasks ``aimanager run`` planned, by capability: queued now and waiting on cards (its two lines
    ``queued … job(s), asked at … priority: cards 40 (medium), …`` and ``waiting on cards: …``)."""
    out: dict[str, int] = {}
    for line in run_output.splitlines():
        line = line.strip()
        if line.startswith("queued "):
            line = line.split(":", 1)[-1]
        elif line.startswith("waiting on cards:"):
            line = line.split(":", 1)[1].split(" (queued by", 1)[0]
        else:
            continue
        for capability, count, _ in PLANNED.findall(line):
            out[capability] = out.get(capability, 0) + int(count)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(
    env: dict[str, str], workdir: Path, log: Callable[[str], None], timeout_s: float = 60.0
) -> tuple[subprocess.Popen[bytes], str, str]:
    """``aimanager apikeys create`` (an admin key) and ``aimanager serve``; the process, URL and token."""

    out = run_command(
        aimanager("apikeys", "create", "--name", "bench", "--role", "admin"), env, workdir, log
    )[1]
    token = out.strip().splitlines()[-1].strip()
    port = free_port()
    proc = subprocess.Popen(
        aimanager("serve", "--port", str(port)), env=env, cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, url, "aimanager serve", timeout_s)
    return proc, url, token


def wait_healthy(proc: subprocess.Popen[bytes], url: str, what: str, timeout_s: float = 60.0) -> None:
    """Until ``url``/healthz answers 200 (``proc`` is stopped and an error raised if it exits or the
    time runs out)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=2.0, trust_env=False).status_code == 200:
                return
        if time.monotonic() > deadline:
            stop(proc)
            raise TimeoutError(f"{what} not ready in {timeout_s:.0f} s")
        time.sleep(0.2)


def sandbox_stats(state: dict[str, Any]) -> dict[str, Any]:
    """The LLM sandbox's ``/_sandbox/stats`` (empty when there is no LLM sandbox)."""
    import httpx

    url = state.get("urls", {}).get("llm")
    if not url:
        return {}
    try:
        answer = httpx.get(url + "/_sandbox/stats", timeout=30.0, trust_env=False)
        answer.raise_for_status()
    except httpx.HTTPError as exc:  # the run's figures stand without them; say so rather than lose the run
        return {"error": f"{type(exc).__name__}: {exc}"}
    stats: dict[str, Any] = answer.json()
    return stats


async def run_public(
    options: FleetOptions,
    log: Callable[[str], None] = print,
    *,
    catalog_rows: list[dict[str, str]] | None = None,
    during: Callable[[RunContext], Coroutine[Any, Any, Any]] | None = None,
    api: bool = False,
) -> PublicRun:
    """The whole run; the API, workers and sandboxes are stopped whatever happens."""
    from sqlalchemy.ext.asyncio import create_async_engine

    workdir = Path(tempfile.mkdtemp(prefix="aim-public-"))
    await recreate_database(options.pg_url)
    if options.redis_url:
        flush_redis(options.redis_url)
    env = product_env(options, workdir)
    rows = catalog_rows if catalog_rows is not None else generate_catalog(options.partners, options.skus)
    catalog = write_catalog(workdir / "catalog.csv", rows)
    state_file, accounts = workdir / "sandboxes.json", workdir / "accounts.jsonl"
    sandbox = worker = server = None
    setup: dict[str, float] = {}
    sqlite = is_sqlite(options.pg_url)
    engine = create_async_engine(options.pg_url, **({} if sqlite else {"pool_size": 1, "max_overflow": 0}))
    worker_log = (workdir / "worker.log").open("wb")  # the workers' one line per job, kept for a look after
    try:
        started = time.monotonic()
        sandbox = subprocess.Popen(
            sandbox_args(options, state_file, catalog, accounts), env=env, cwd=workdir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
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
        ctx = RunContext(env=env, workdir=workdir, state=state, catalog=rows)
        if api:
            started = time.monotonic()
            server, ctx.api_url, ctx.api_token = start_api(env, workdir, log)
            setup["serve"] = time.monotonic() - started
        metrics_port = free_port()
        worker = subprocess.Popen(
            worker_args(options, metrics_port), env=env, cwd=workdir, stdout=subprocess.DEVNULL,
            stderr=worker_log, start_new_session=True,
        )  # fmt: skip
        # Workers are a service that is already up when an operator queues work: the run starts once
        # they answer /healthz, so a Python start is no part of its wall time.
        wait_healthy(worker, f"http://127.0.0.1:{metrics_port}", "aimanager worker", options.timeout_s)
        sampler = Sampler(
            supervisor=worker.pid,
            sandbox=sandbox.pid,
            database="" if sqlite else options.pg_url.rsplit("/", 1)[1],
            worker_root=options.single_worker,
        )
        sampler.sample()
        started_epoch = time.time()  # the jobs table keeps epoch seconds
        run = subprocess.Popen(run_args(options), env=env, cwd=workdir, stdout=subprocess.PIPE)
        operator: asyncio.Task[Any] | None = None
        drained = False
        deadline = time.monotonic() + options.timeout_s
        async with engine.connect() as conn:
            while time.monotonic() < deadline:
                await asyncio.sleep(options.sample_s)
                sampler.sample()
                if run.poll() is None:
                    continue
                if during is not None and operator is None:
                    # The operator's requests arrive while the backlog runs: once `run` has queued it.
                    operator = asyncio.create_task(during(ctx))
                if operator is not None and not operator.done():
                    continue
                if await queue_left(conn) == 0:
                    drained = True
                    break
                await conn.commit()  # a fresh snapshot for the next look
        out = run.communicate()[0].decode(errors="replace")
        lines = out.strip().splitlines()
        log(f"  run: {lines[0] if lines else run.returncode}")
        done_by_operator = None
        if operator is not None:
            if not operator.done():
                operator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                done_by_operator = await operator
        sampler.sample()
        async with engine.connect() as conn:
            # What was still queued or running when the bench stopped waiting (before the workers'
            # graceful stop puts their running jobs back in the queue).
            left = (await read_figures(conn, started_epoch=started_epoch, followups_kind=FOLLOWUPS_KIND))[1]
        stop(worker)
        async with engine.connect() as conn:
            fig, counts = await read_figures(conn, started_epoch=started_epoch, followups_kind=FOLLOWUPS_KIND)
        counts["left"] = left["left"]
        llm_stats = sandbox_stats(state)
    finally:
        stop(server)
        stop(worker)
        stop(sandbox)
        worker_log.close()
        await engine.dispose()
        if not options.keep_database:
            await recreate_database(options.pg_url, drop_only=True)
    fig.cpu_s = sampler.usage.cpu("worker")
    return PublicRun(
        fig, counts, sampler.usage, drained, setup, llm_stats, out, done_by_operator, started_epoch
    )
