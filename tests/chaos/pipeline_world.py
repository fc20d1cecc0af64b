"""The world of the pipeline chaos tests: a throwaway Redis, the sandboxes, a seeded multi-partner
catalog on a fresh PostgreSQL database, ``aimanager worker`` processes — and the checks every chaos run
ends with (``check_books``).

The Redis is our own ``redis-server`` on a free loopback port in a temporary directory, so stopping it
disturbs no other test; it comes back on the same port, as a restarted server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import SQLBackend
from aimanager.pipelines.services.runs import start_run
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners, demo_credentials
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from tests.servers import create_pg_database, drop_pg_database

CAPS = (Capability.CARDS, Capability.PRICING, Capability.STOCK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A throwaway ``redis-server`` (no persistence) that can be killed and started again on its port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            assert self.proc.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not accept in 10 s"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("redis-server is not installed (CI=true: a failure)")
        pytest.skip("!!! SKIPPED: redis-server is not installed !!!")
    tmp = Path(tempfile.mkdtemp(prefix="aim-chaos-redis-"))
    server = OwnRedis(tmp)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class PipelineRun:
    """One seeded multi-partner world: database, sandboxes, and the workers' environment."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    backend: SQLBackend
    box: CredentialBox
    world: SandboxWorld
    workdir: Path
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0
    logs: dict[int, Path] = field(default_factory=dict)

    @classmethod
    async def create(
        cls, world: SandboxWorld, redis_url: str, workdir: Path, *, partners: int, skus: int, workers: int = 3
    ) -> PipelineRun:
        url = await create_pg_database()
        secret = Fernet.generate_key().decode()
        engine = make_engine(url)
        await upgrade(engine)
        backend = SQLBackend(engine)
        await backend.setup()
        sessions = session_factory(engine)
        box = CredentialBox.from_settings(Settings(database_url=url, secret_key=SecretStr(secret)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
        env.update(
            AIMANAGER_DATABASE_URL=url,
            AIMANAGER_SECRET_KEY=secret,
            AIMANAGER_REDIS_URL=redis_url,
            AIMANAGER_LLM_PROVIDER="anthropic",
            AIMANAGER_ANTHROPIC_API_KEY="sk-ant-sandbox",
            AIMANAGER_ANTHROPIC_BASE_URL=world.url("llm"),
            AIMANAGER_EXPORTS_DIR=str(workdir / "exports"),
            AIMANAGER_LOG_LEVEL="INFO",  # "worker.started" tells when a worker is up
            # Packs of 4 (not 20): 8 calls for 32 products instead of 2, so that kills and outages meet
            # calls in flight.
            AIMANAGER_LLM_PACK_SIZE="4",
        )
        run = cls(url, engine, sessions, backend, box, world, workdir, env)
        # Started before the catalog is seeded: a worker takes seconds to import and wire up (the LLM
        # SDKs), time better spent while the sandboxes are seeded than on the test's clock.
        try:
            for _ in range(workers):
                run.start_worker()
            assert (await insert_catalog(sessions, generate_catalog(partners=partners, skus=skus))).ok
            await connect_partners(world, sessions, box)
            await run.wait_ready(timeout=120)
        except BaseException:
            await run.close()
            raise
        return run

    async def start_run(self) -> None:
        """What ``aimanager run -c cards -c pricing -c stock`` queues (pricing and stock wait for cards)."""
        await start_run(self.sessions, self.backend, list(CAPS), poll_s=0.5)

    def start_worker(self, lease: float = 6.0, concurrency: int = 8) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.workdir / f"worker-{self.started}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "aimanager", "worker", "-c", str(concurrency), "--lease", str(lease)],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()  # the child holds its own descriptor
        self.workers.append(proc)
        self.logs[proc.pid] = self.workdir / f"worker-{self.started}.log"
        return proc

    # (6 s, not the engine tests' 3 s: a pipeline worker's event loop can stall for a second or more on
    # a loaded 2-core machine, and a lease that lapses under a live worker is not what is tested here.)

    async def wait_ready(self, timeout: float) -> None:
        """Until every live worker has logged ``worker.started`` (imports and wiring take seconds)."""
        deadline = time.monotonic() + timeout
        for proc in self.workers:
            while "worker.started" not in self.logs[proc.pid].read_text(errors="replace"):
                assert proc.poll() is None, self.worker_logs()
                assert time.monotonic() < deadline, f"a worker did not start in {timeout:.0f} s"
                await asyncio.sleep(0.1)

    def restart_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` and start another in its place (what a supervisor does)."""
        proc = self.workers[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.start_worker()
        self.workers[index] = self.workers.pop()

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]

    async def open_jobs(self) -> int:
        [(n,)] = await self.rows("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
        return int(n)

    async def wait_settled(self, timeout: float) -> float:
        """Until no job is queued or running; returns the seconds it took."""
        t0 = time.monotonic()
        while await self.open_jobs():
            assert time.monotonic() - t0 < timeout, await self.rows(
                "SELECT kind, status, attempts, last_error FROM jobs WHERE status IN ('queued', 'running')"
            )
            await asyncio.sleep(0.25)
        return time.monotonic() - t0

    def stop_workers(self) -> list[int]:
        """SIGTERM (graceful) every live worker; their exit codes."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.workers:
            try:
                codes.append(proc.wait(timeout=30))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes

    def log_events(self, suffix: str) -> Counter[str]:
        """Log events ending in ``suffix`` over every worker's log, by event name."""
        found: Counter[str] = Counter()
        for path in self.workdir.glob("worker-*.log"):
            for event in re.findall(r"^\S+ \[\w+\s*\] (\S+)", path.read_text(errors="replace"), re.M):
                if event.endswith(suffix):
                    found[event] += 1
        return found

    def worker_logs(self, limit: int = 4000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-limit:]}"
            for p in sorted(self.workdir.glob("worker-*.log"))
        )

    async def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        await self.backend.close()
        await self.engine.dispose()
        await drop_pg_database(self.url)


def llm_paid_answers(world: SandboxWorld) -> int:
    """Messages calls the LLM sandbox answered 200 (what a provider bills): every call on the route
    less the ones refused by its limits (429) or by an injected fault or outage."""
    stats = world.world.stats("llm")
    refused = int(sum(stats["throttled_by"].values())) + int(sum(stats["injected_faults"].values()))
    return int(stats["by_route"].get("messages", 0)) - refused


@dataclass
class Books:
    """What ``check_books`` found, for the test's own assertions and its printout."""

    tasks: Counter[str]
    jobs: Counter[str]
    failed_reasons: list[str]
    paid_calls: int
    sandbox_paid: int
    models: Counter[str]


async def check_books(run: PipelineRun, *, partners: int, skus: int) -> Books:
    """The checks every chaos run ends with (the issue's list):

    - every task is there and ended done, or failed/needs-input/skipped with a reason;
    - no job is left queued or running, and every failed or dead job has its reason;
    - no price change or stock push is left planned or pushing;
    - each marketplace sandbox holds exactly the price, stock and card title the database says;
    - nothing was charged twice: no two ledger rows for the same provider request and partner, and no
      item answered well twice (its answer was cached the first time).
    The LLM sandbox's own count is returned next to the ledger's for the caller to compare (a worker
    killed while its call is in flight leaves a call the provider answered and nobody recorded).
    """
    tasks = await run.rows("SELECT capability, marketplace, sku, status, reason FROM tasks")
    assert len(tasks) == partners * skus * len(Marketplace) * len(CAPS), Counter(t[0] for t in tasks)
    assert {t[3] for t in tasks} <= {"done", "failed", "needs_input", "skipped"}, Counter(t[3] for t in tasks)
    no_reason = [t for t in tasks if t[3] != "done" and not (t[4] or "").strip()]
    assert not no_reason, no_reason[:5]

    jobs = Counter(dict(await run.rows("SELECT status, count(*) FROM jobs GROUP BY status")))
    assert not jobs.get("queued") and not jobs.get("running"), jobs
    unexplained = await run.rows(
        "SELECT id, kind FROM jobs WHERE status IN ('failed', 'dead') AND coalesce(last_error, '') = ''"
    )
    assert not unexplained, unexplained

    for table in ("price_changes", "stock_pushes"):
        stuck = await run.rows(f"SELECT id, status FROM {table} WHERE status IN ('planned', 'pushing')")
        assert not stuck, (table, stuck[:10])

    await check_marketplaces(run)

    paid = await run.rows(
        "SELECT request_id, partner_id, model, outcome, detail FROM ai_usage_logs WHERE path <> 'cache'"
    )
    assert all(r[0] for r in paid), "a paid ledger row without the provider's request id"
    twice = [k for k, n in Counter((r[0], r[1]) for r in paid).items() if n > 1]
    assert not twice, f"the same provider request booked twice: {twice[:5]}"
    answered = Counter(
        (r[4].get("prompt"), item) for r in paid if r[3] == "ok" for item in (r[4] or {}).get("items", [])
    )
    again = {k: n for k, n in answered.items() if n > 1}
    assert not again, f"items answered (and paid) well more than once: {again}"
    failed = [str(t[4]) for t in tasks if t[3] == "failed"]
    return Books(
        tasks=Counter(f"{t[0]}:{t[3]}" for t in tasks),
        jobs=jobs,
        failed_reasons=failed,
        paid_calls=len({r[0] for r in paid}),
        sandbox_paid=llm_paid_answers(run.world),
        models=Counter(r[2] for r in paid),
    )


async def check_marketplaces(run: PipelineRun) -> None:
    """Each sandbox account holds the price, stock and card title the database says it holds."""
    listings = await run.rows(
        "SELECT l.partner_id, pa.slug, l.marketplace, p.sku, l.price, l.stock_pushed, cv.content "
        "FROM listings l JOIN products p ON p.id = l.product_id JOIN partners pa ON pa.id = l.partner_id "
        "LEFT JOIN card_versions cv ON cv.id = l.card_version_id"
    )
    held: dict[tuple[str, str], dict[str, Any]] = {}
    wrong = []
    for _, slug, market, sku, price, stock, content in listings:
        mp = Marketplace(market)
        if (slug, market) not in held:
            key = parse_credentials(mp, demo_credentials(mp, slug)).account_key()
            held[(slug, market)] = await asyncio.to_thread(run.world.snapshot, mp, key)
        offer = held[(slug, market)].get(sku)
        if offer is None:
            wrong.append((market, sku, "missing on the marketplace"))
            continue
        if price is not None and offer.price != Decimal(str(price)):
            wrong.append((market, sku, f"price db {price} marketplace {offer.price}"))
        if stock is not None and offer.stock != stock:
            wrong.append((market, sku, f"stock db {stock} marketplace {offer.stock}"))
        if content is not None and mp is not Marketplace.UZUM:  # Uzum's card is an exported file
            title = content["variant"]["title"]
            if offer.title != title:
                wrong.append((market, sku, f"title db {title!r} marketplace {offer.title!r}"))
    assert not wrong, f"{len(wrong)} listings differ from the marketplace: {wrong[:10]}"
