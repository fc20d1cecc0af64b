"""One seeded multi-partner pipeline world run by ``aimanager worker`` processes: a fresh PostgreSQL
database, the sandboxes, a sample catalog, and workers configured as an operator configures them
(``AIMANAGER_*`` environment variables). The chaos tests and ``aimanager bench recovery`` inject
their faults into it from outside.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.domain.enums import Capability
from aimanager.jobs import SQLBackend
from aimanager.pipelines.services.runs import start_run
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog

CAPS = (Capability.CARDS, Capability.PRICING, Capability.STOCK)


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
    # Called with the database URL on close (drops the fresh database), if given.
    drop: Callable[[str], Awaitable[None]] | None = None

    @classmethod
    async def start(
        cls,
        world: SandboxWorld,
        redis_url: str,
        workdir: Path,
        database_url: str,
        *,
        partners: int,
        skus: int,
        workers: int = 3,
        drop: Callable[[str], Awaitable[None]] | None = None,
    ) -> Self:
        """Migrate the empty database at ``database_url``, start ``workers`` worker processes, seed the
        catalog and connect every partner to the sandboxes; returns once every worker is up."""
        url = database_url
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
        run = cls(url, engine, sessions, backend, box, world, workdir, env, drop=drop)
        # Started before the catalog is seeded: a worker takes seconds to import and wire up (the LLM
        # SDKs), time better spent while the sandboxes are seeded than on the caller's clock.
        try:
            for _ in range(workers):
                run.start_worker()
            if not (await insert_catalog(sessions, generate_catalog(partners=partners, skus=skus))).ok:
                raise RuntimeError("the sample catalog did not import")
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

    def _started(self, proc: subprocess.Popen[bytes]) -> bool:
        return "worker.started" in self.logs[proc.pid].read_text(errors="replace")

    async def wait_ready(self, timeout: float) -> None:
        """Until every live worker has logged ``worker.started`` (imports and wiring take seconds)."""
        deadline = time.monotonic() + timeout
        for proc in self.workers:
            while not self._started(proc):
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited at start:\n{self.worker_logs()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"a worker did not start in {timeout:.0f} s")
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
            if time.monotonic() - t0 > timeout:
                left = await self.rows(
                    "SELECT kind, status, attempts, last_error FROM jobs "
                    "WHERE status IN ('queued', 'running')"
                )
                raise TimeoutError(f"jobs still open after {timeout:.0f} s: {left[:10]}")
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
        if self.drop is not None:
            await self.drop(self.url)
