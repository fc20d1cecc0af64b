"""Keeps N worker processes alive: restarts the ones that exit (with backoff), forwards SIGTERM.

Each child is a full ``aimanager worker`` process. A child that exits while the supervisor runs is
started again after a backoff that grows while it keeps crashing soon after start (0.5 s doubling to
30 s) and starts over once a child has run for ``stable_s``. SIGTERM or SIGINT to the supervisor is
forwarded to every child as SIGTERM (they finish or release their jobs), and children still running
after ``stop_timeout_s`` are killed.

The number of children can change while it runs (``scale_to``, driven by ``--processes auto``): new
slots start at once; a slot given up gets SIGTERM (its child finishes or releases its jobs) and is
not restarted.

Children report liveness by touching ``<state_dir>/alive-<pid>`` while their claim loop turns, and
write Prometheus metrics to ``<state_dir>/metrics`` (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from aimanager.logs import get_logger
from aimanager.retry import Backoff

log = get_logger(__name__)
STATE_DIR_ENV = "AIMANAGER_SUPERVISOR_DIR"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(slots=True)
class Slot:
    """One of the N places a worker process runs in."""

    index: int
    proc: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    crashes: int = 0  # exits in a row that came soon after start
    exits: list[int] = field(default_factory=list)
    retiring: bool = False  # scaled away: stop its child, do not restart it


class Supervisor:
    """Runs ``argv`` ``processes`` times over and keeps them running until stopped."""

    def __init__(
        self,
        argv: list[str],
        processes: int,
        state_dir: Path,
        *,
        env: dict[str, str] | None = None,
        backoff: Backoff | None = None,
        stable_s: float = 30.0,
        stop_timeout_s: float = 40.0,
        stale_s: float = 30.0,
        startup_grace_s: float = 120.0,
        restart_clean_exits: bool = True,
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.argv = argv
        self.state_dir = state_dir
        self.metrics_dir = state_dir / "metrics"
        self.env = {**(env if env is not None else os.environ)}
        self.env[STATE_DIR_ENV] = str(state_dir)
        self.env[MULTIPROC_ENV] = str(self.metrics_dir)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)  # counters of an earlier run
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        self.backoff = backoff or Backoff(base=0.5, cap=30.0, jitter="spread")
        self.stable_s = stable_s
        self.stop_timeout_s = stop_timeout_s
        self.stale_s = stale_s
        self.startup_grace_s = startup_grace_s
        # False for ``--until-idle``: a child that exits 0 found no work left, and its slot is done.
        self.restart_clean_exits = restart_clean_exits
        self.slots = [Slot(i) for i in range(processes)]
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._keepers: dict[int, asyncio.Task[None]] = {}  # slot index → its keeper, once running
        self._changed = asyncio.Event()
        self._next_index = processes
        self._started = False

    @property
    def processes(self) -> int:
        """Slots kept running (not counting those being scaled away)."""
        return sum(1 for s in self.slots if not s.retiring)

    def scale_to(self, processes: int) -> None:
        """Run ``processes`` children from now on: start new slots, or stop the newest ones."""
        if processes < 1:
            raise ValueError("processes must be at least 1")
        if self._stopping.is_set():
            return
        active = [s for s in self.slots if not s.retiring]
        for slot in active[processes:]:
            slot.retiring = True
            if slot.proc is not None and slot.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.send_signal(signal.SIGTERM)
        for _ in range(processes - len(active)):
            slot = Slot(self._next_index)
            self._next_index += 1
            self.slots.append(slot)
            if self._started:
                self._start(slot)
        log.info("ops.supervisor.scaled", processes=processes, was=len(active))
        self._changed.set()

    def _start(self, slot: Slot) -> None:
        self._keepers[slot.index] = asyncio.ensure_future(self._keep(slot))

    def pids(self) -> list[int]:
        """Pids of the children running now."""
        return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.returncode is None]

    def stop(self) -> None:
        """Stop restarting and ask every child to stop (SIGTERM)."""
        if not self._stopping.is_set():
            log.info("ops.supervisor.stopping", children=len(self.pids()))
        self._stopping.set()
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def health(self) -> tuple[bool, str]:
        """Healthy while every slot has a running child whose claim loop turned lately."""
        now = time.time()
        problems = []
        for slot in self.slots:
            proc = slot.proc
            if slot.retiring:
                continue
            if slot.exits and slot.exits[-1] == 0 and not self.restart_clean_exits:
                continue  # finished its work (``--until-idle``)
            if proc is None or proc.returncode is not None:
                problems.append(f"worker {slot.index} is not running")
                continue
            beat = self.state_dir / f"alive-{proc.pid}"
            try:
                age = now - beat.stat().st_mtime
            except FileNotFoundError:
                if time.monotonic() - slot.started_at > self.startup_grace_s:
                    problems.append(f"worker {slot.index} (pid {proc.pid}) never reported its claim loop")
                continue
            if age > self.stale_s:
                problems.append(f"worker {slot.index} (pid {proc.pid}) claim loop silent for {age:.0f} s")
        if problems:
            return False, "; ".join(problems)
        return True, f"{self.processes} worker processes running"

    async def run(self, *, install_signals: bool = True) -> None:
        """Start the children and keep them alive until :meth:`stop` (or SIGTERM/SIGINT)."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        log.info("ops.supervisor.started", processes=len(self.slots))
        self._started = True  # slots added from here on start at once
        try:
            for slot in self.slots:
                self._start(slot)
            while self._keepers:
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({*self._keepers.values(), changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                self._changed.clear()
                for index, task in list(self._keepers.items()):
                    if task.done():
                        del self._keepers[index]
                        self.slots = [s for s in self.slots if s.index != index or not s.retiring]
                        task.result()
        finally:
            for task in self._keepers.values():
                task.cancel()
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            log.info("ops.supervisor.stopped", restarts=self.restarts)

    async def _keep(self, slot: Slot) -> None:
        while not self._stopping.is_set() and not slot.retiring:
            slot.proc = await asyncio.create_subprocess_exec(*self.argv, env=self.env)
            slot.started_at = time.monotonic()
            log.info("ops.worker.started", slot=slot.index, pid=slot.proc.pid)
            code = await self._wait(slot.proc)
            (self.state_dir / f"alive-{slot.proc.pid}").unlink(missing_ok=True)
            slot.exits.append(code)
            if self._stopping.is_set() or slot.retiring or (code == 0 and not self.restart_clean_exits):
                return
            ran = time.monotonic() - slot.started_at
            slot.crashes = 1 if ran >= self.stable_s else slot.crashes + 1
            delay = self.backoff.delay(slot.crashes)
            log.warning(
                "ops.worker.exited", slot=slot.index, code=code, ran_s=round(ran, 1), restart_in_s=delay
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            if not self._stopping.is_set() and not slot.retiring:
                self.restarts += 1

    async def _wait(self, proc: asyncio.subprocess.Process) -> int:
        """The child's exit code; once stopping, kill it if it outlives ``stop_timeout_s``."""
        wait = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({wait, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not wait.done():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)  # it may have started as stop() ran
                try:
                    async with asyncio.timeout(self.stop_timeout_s):
                        await asyncio.shield(wait)
                except TimeoutError:
                    log.warning("ops.worker.killed", pid=proc.pid, after_s=self.stop_timeout_s)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
            return await wait
        finally:
            stopping.cancel()
