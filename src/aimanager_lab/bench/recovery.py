"""``aimanager bench recovery``: how the product recovers from a PostgreSQL restart, a Redis outage
and a SIGKILLed worker (issue 14's recovery times).

Everything runs against servers of our own on loopback (``aimanager_lab.servers``: a PostgreSQL
cluster and a ``redis-server`` in temporary directories), so faults disturb no one else. The work is
done by real ``aimanager worker`` processes configured by ``AIMANAGER_*`` variables, as an operator
runs them; jobs are queued with ``aimanager jobs enqueue``; the faults come from outside (``pg_ctl
restart -m fast``, SIGKILL of ``redis-server`` or of a worker). Figures are read from the jobs table
(``started_at`` / ``finished_at`` are the workers' own clock, this machine's) and the sandboxes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.engine import make_engine
from aimanager.domain.enums import Marketplace
from aimanager.jobs import JobSpec, SQLBackend
from aimanager_lab.bench.public_run import aimanager, run_step, stop
from aimanager_lab.bench.recovery_report import KillRun, PgRound, RecoveryFigures, RedisRun
from aimanager_lab.environment import SandboxWorld
from aimanager_lab.pipeline_run import PipelineRun
from aimanager_lab.servers import OwnPostgres, OwnRedis, pg_bin

Log = Callable[[str], None]
# The jobs of one case: every id above the largest before it queued its jobs.
MINE = "FROM jobs WHERE id > :first"


@dataclass(frozen=True)
class RecoveryOptions:
    workers: int = 2
    concurrency: int = 10
    lease_s: float = 10.0
    rounds: int = 3
    jobs: int = 1000
    job_ms: int = 100
    redis: bool = True
    outage_s: float = 20.0
    baseline: bool = True
    partners: int = 4
    skus: int = 8
    # 0.25: the run's card generation lasts past the 20 s outage, so that Redis returns mid-run (at
    # 0.05 the whole run fits inside the outage).
    time_scale: float = 0.25
    kill_jobs: int = 10
    kill_job_ms: int = 20_000


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    """Poll ``check`` every 50 ms until it holds (True) or ``timeout_s`` passes (False). A check that
    raises (the database restarting) counts as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if await check():
                return True
        except Exception:  # the server is away: look again
            pass
        await asyncio.sleep(0.05)
    return False


def spawn_worker(
    env: dict[str, str], workdir: Path, name: str, concurrency: int, lease_s: float
) -> subprocess.Popen[bytes]:
    """``aimanager worker -c C --lease L``, its output in ``workdir/name.log``."""
    with (workdir / f"{name}.log").open("wb") as out:
        return subprocess.Popen(
            aimanager("worker", "--concurrency", str(concurrency), "--lease", str(lease_s)),
            env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def enqueue_sleep(url: str, count: int, ms: int) -> None:
    """Queue ``count`` built-in ``sleep`` jobs over 20 partners, through the engine's enqueue (what
    ``aimanager jobs enqueue`` calls, without its seconds of start-up on each round's clock)."""
    backend = SQLBackend(make_engine(url), owns_engine=True)
    try:
        await backend.enqueue_many([JobSpec("sleep", {"ms": ms}, partner_id=i % 20) for i in range(count)])
    finally:
        await backend.close()


async def pg_restarts(
    cluster: OwnPostgres, env: dict[str, str], workdir: Path, o: RecoveryOptions, log: Log
) -> list[PgRound]:
    """``o.rounds`` times: queue ``o.jobs`` sleep jobs, restart PostgreSQL a fifth of the way in, and
    see when work resumes, whether a worker exited and whether a job was lost."""
    engine = make_engine(env["AIMANAGER_DATABASE_URL"], pool_pre_ping=True)  # our reads survive it too
    workers = [
        spawn_worker(env, workdir, f"pg-worker-{i}", o.concurrency, o.lease_s) for i in range(o.workers)
    ]
    rounds: list[PgRound] = []
    try:
        for i in range(o.rounds):
            first = int(await _scalar(engine, "SELECT coalesce(max(id), 0) FROM jobs"))
            await enqueue_sleep(env["AIMANAGER_DATABASE_URL"], o.jobs, o.job_ms)

            async def succeeded(at_least: int, first: int = first) -> bool:
                done = await _scalar(engine, f"SELECT count(*) {MINE} AND status = 'succeeded'", first=first)
                return int(done) >= at_least

            if not await _until(lambda: succeeded(o.jobs // 5), 120):
                raise RuntimeError(f"round {i + 1}: a fifth of the jobs did not succeed in 120 s")
            away = await asyncio.to_thread(cluster.restart)
            back = time.time()

            async def ended(first: int = first) -> bool:
                sql = f"SELECT count(*) {MINE} AND status IN ('succeeded', 'failed', 'dead')"
                return int(await _scalar(engine, sql, first=first)) == o.jobs

            await _until(ended, 60 + o.jobs * o.job_ms / 1000 / max(1, o.workers * o.concurrency))
            resumed = await _scalar(
                engine,
                f"SELECT min(finished_at) - :back {MINE} AND finished_at >= :back",
                first=first,
                back=back,
            )
            ok = int(await _scalar(engine, f"SELECT count(*) {MINE} AND status = 'succeeded'", first=first))
            again = int(
                await _scalar(
                    engine, f"SELECT count(*) {MINE} AND (attempts > 1 OR crashes > 0)", first=first
                )
            )
            exited = sum(w.poll() is not None for w in workers)
            rounds.append(
                PgRound(away, None if resumed is None else float(resumed), exited, o.jobs, o.jobs - ok, again)
            )
            log(
                f"  round {i + 1}: away {away:.2f} s, resumed {resumed if resumed is None else round(resumed, 2)} s"
            )
    finally:
        for w in workers:
            stop(w)
        await engine.dispose()
    return rounds


async def sigkill_rerun(env: dict[str, str], workdir: Path, o: RecoveryOptions, log: Log) -> KillRun:
    """One worker holds ``o.kill_jobs`` long jobs, a second is up and idle; SIGKILL the first and time
    each of its jobs' start under the second."""
    engine = make_engine(env["AIMANAGER_DATABASE_URL"])
    first = int(await _scalar(engine, "SELECT coalesce(max(id), 0) FROM jobs"))
    await enqueue_sleep(env["AIMANAGER_DATABASE_URL"], o.kill_jobs, o.kill_job_ms)
    victim = spawn_worker(env, workdir, "victim", o.kill_jobs, o.lease_s)
    rescuer = None
    try:

        async def held() -> bool:
            sql = f"SELECT count(DISTINCT worker_id), count(*) {MINE} AND status = 'running'"
            async with engine.connect() as conn:
                holders, running = (await conn.execute(text(sql), {"first": first})).one()
            return int(holders) == 1 and int(running) == o.kill_jobs

        if not await _until(held, 120):
            raise RuntimeError("the first worker did not take every job in 120 s")
        victim_id = await _scalar(engine, f"SELECT min(worker_id) {MINE}", first=first)
        rescuer = spawn_worker(
            {**env, "AIMANAGER_LOG_LEVEL": "INFO"}, workdir, "rescuer", o.kill_jobs, o.lease_s
        )
        rescuer_log = workdir / "rescuer.log"

        async def rescuer_up() -> bool:
            return "worker.started" in rescuer_log.read_text(errors="replace")

        if not await _until(rescuer_up, 120):
            raise RuntimeError("the second worker did not start in 120 s")
        await asyncio.sleep(1.0)  # let the first worker renew its leases once or twice
        lease_until = float(await _scalar(engine, f"SELECT avg(lease_until) {MINE}", first=first))
        victim.kill()
        victim.wait()
        killed = time.time()
        log(f"  SIGKILLed the worker holding {o.kill_jobs} jobs")

        async def rerun() -> bool:
            sql = f"SELECT count(*) {MINE} AND started_at > :killed AND worker_id IS DISTINCT FROM :victim"
            n = await _scalar(engine, sql, first=first, killed=killed, victim=victim_id)
            return int(n) == o.kill_jobs

        await _until(rerun, 3 * o.lease_s + 30)
        async with engine.connect() as conn:
            starts = (
                await conn.execute(
                    text(f"SELECT started_at - :killed {MINE} AND started_at > :killed"),
                    {"first": first, "killed": killed},
                )
            ).scalars()
            delays = sorted(float(s) for s in starts)

        async def finished() -> bool:
            sql = f"SELECT count(*) {MINE} AND status IN ('succeeded', 'failed', 'dead')"
            return int(await _scalar(engine, sql, first=first)) == o.kill_jobs

        await _until(finished, o.kill_job_ms / 1000 + 60)
        ok = int(await _scalar(engine, f"SELECT count(*) {MINE} AND status = 'succeeded'", first=first))
    finally:
        stop(victim)
        stop(rescuer)
        await engine.dispose()
    return KillRun(o.lease_s, o.kill_jobs, delays, lease_until - killed, ok)


async def redis_run(
    cluster: OwnPostgres, name: str, o: RecoveryOptions, outage_s: float, log: Log
) -> RedisRun:
    """Cards, pricing and stock on a fresh database, sandboxes and Redis; Redis SIGKILLed for
    ``outage_s`` as the first jobs start (0: no outage)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"aim-recovery-{name}-"))
    redis = OwnRedis(workdir)
    redis.start()
    world = SandboxWorld(time_scale=o.time_scale).start()
    run: PipelineRun | None = None
    try:
        url = await cluster.create_database(name)
        run = await PipelineRun.start(world, redis.url, workdir, url, partners=o.partners, skus=o.skus)
        started = time.time()  # the jobs table keeps the workers' epoch seconds
        await run.start_run()
        down_s, down_at, back_at = 0.0, started, started
        if outage_s:

            async def first_started() -> bool:
                return bool((await run.rows("SELECT count(*) FROM jobs WHERE status <> 'queued'"))[0][0])

            if not await _until(first_started, 60):
                raise RuntimeError("no job started in 60 s")
            redis.kill()
            down_at = time.time()
            log(f"  redis killed; back in {outage_s:.0f} s")
            await asyncio.sleep(outage_s)
            await asyncio.to_thread(redis.start)
            back_at = time.time()
            down_s = back_at - down_at
        settled = True
        try:
            await run.wait_settled(timeout=300)
        except TimeoutError:
            settled = False
        codes = run.stop_workers()
        # From the run's start to the last job's end, by the workers' clock: not when this loop looked.
        [(last,)] = await run.rows("SELECT max(finished_at) FROM jobs")
        wall = float(last or time.time()) - started
        phases = "count(*) FILTER (WHERE {t} BETWEEN :d AND :b), count(*) FILTER (WHERE {t} > :b)"
        [(jobs_down, jobs_after)] = await run.rows(
            f"SELECT {phases.format(t='finished_at')} FROM jobs", d=down_at, b=back_at
        )
        [(llm_down, llm_after)] = await run.rows(
            f"SELECT {phases.format(t='created_at')} FROM ai_usage_logs",
            d=datetime.fromtimestamp(down_at, UTC),
            b=datetime.fromtimestamp(back_at, UTC),
        )
        rows = await run.rows("SELECT status, count(*) FROM tasks GROUP BY status")
        tasks = Counter({str(s): int(n) for s, n in rows})
        reasons = [
            str(r[0]) for r in await run.rows("SELECT reason FROM tasks WHERE status <> 'done' LIMIT 5")
        ]
        [(errors,)] = await run.rows(
            "SELECT count(*) FROM jobs WHERE last_error ILIKE '%redis%' OR last_error ILIKE '%connection%'"
        )
        market_429 = sum(int(world.world.stats(m.value)["rejections"]) for m in Marketplace)
        llm_429 = int(sum(world.world.stats("llm")["throttled_by"].values()))
        down = sum(run.log_events(".redis.down").values())
        log(f"  {'outage' if outage_s else 'no outage'}: {wall:.1f} s, tasks {dict(tasks)}")
        phase = (int(jobs_down), int(jobs_after), int(llm_down), int(llm_after)) if outage_s else (0, 0, 0, 0)
        return RedisRun(
            down_s, wall, dict(tasks), int(errors), market_429, llm_429, codes, settled, down, reasons, *phase
        )
    finally:
        if run is not None:
            await run.close()
        world.stop()
        redis.kill()
        shutil.rmtree(workdir, ignore_errors=True)


async def run_recovery(o: RecoveryOptions, log: Log = print) -> RecoveryFigures:
    """Every case on one throwaway PostgreSQL cluster; every server and process stopped whatever happens."""
    from cryptography.fernet import Fernet

    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if o.redis and shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (or run with --no-redis)")
    # Its own directories: the cluster's is handed to the postgres user.
    pgdir, workdir = (Path(tempfile.mkdtemp(prefix=f"aim-recovery-{p}-")) for p in ("pg", "work"))
    cluster = OwnPostgres(bindir, pgdir / "data")
    figs = RecoveryFigures(o.workers, o.concurrency, o.jobs, o.job_ms, o.lease_s)
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        url = await cluster.create_database("aimanager_recovery")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
        env.update(
            AIMANAGER_DATABASE_URL=url,
            AIMANAGER_SECRET_KEY=Fernet.generate_key().decode(),
            AIMANAGER_LOG_LEVEL="WARNING",
        )
        await asyncio.to_thread(run_step, aimanager("init"), env, workdir, log)
        log(f"PostgreSQL restarts: {o.rounds} rounds, {o.workers} workers")
        figs.pg = await pg_restarts(cluster, env, workdir, o, log)
        log(f"worker SIGKILL: {o.kill_jobs} jobs, lease {o.lease_s:g} s")
        figs.kill = await sigkill_rerun(env, workdir, o, log)
        if o.redis:
            figs.partners, figs.skus, figs.time_scale = o.partners, o.skus, o.time_scale
            log(f"Redis outage: {o.outage_s:.0f} s")
            figs.redis = await redis_run(cluster, "aimanager_recovery_outage", o, o.outage_s, log)
            if o.baseline:
                log("the same run without an outage")
                figs.redis_baseline = await redis_run(cluster, "aimanager_recovery_baseline", o, 0.0, log)
    finally:
        await asyncio.to_thread(cluster.stop)
        shutil.rmtree(pgdir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return figs
