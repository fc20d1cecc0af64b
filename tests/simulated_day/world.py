"""The world of the simulated day: ``aimanager sandbox up``, worker processes, and the operator's CLI.

Everything the product does runs in subprocesses started exactly as an operator types them
(``aimanager worker``, ``aimanager import`` …) against PostgreSQL and Redis. The world side does what
happens outside the product: it opens seller accounts for the extra partners (``sandbox up`` opens one
per marketplace, for one partner), creates the products in Uzum's cabinet, sets the sandboxes' buyers
going and reads their order books and timelines back.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from aimanager.connectors.registry import parse_credentials
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.up import connect_command, sandbox_credentials
from tests.cli_e2e.test_operator_flow import COLUMNS, ean13, product

MARKETS = tuple(m.value for m in Marketplace)
READY_S = 30.0


def catalog_rows(partners: Iterable[tuple[str, str]], skus: int, *, stock: int) -> list[dict[str, str]]:
    """``skus`` products per (slug, name), SKUs unique across partners (the replay keys by SKU)."""
    rows: list[dict[str, str]] = []
    for p, (slug, name) in enumerate(partners, start=1):
        for i in range(1, skus + 1):
            row = product(i)
            row.update(
                partner=slug,
                partner_name=name,
                sku=f"D{p}-{i:03d}",
                barcode=ean13(f"4781{p}0000{i:03d}"),
                stock=str(stock + 2 * i),
            )
            rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], *, columns: Iterable[str] = COLUMNS) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


class SandboxUp:
    """``aimanager sandbox up`` as a subprocess, and the world's side of its accounts."""

    def __init__(self, workdir: Path, scale: float, partner: str) -> None:
        self.workdir = workdir
        self.state_file = workdir / "sandbox.json"
        self.log_path = workdir / "sandbox.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aimanager", "sandbox", "up", "--time-scale", str(scale),
             "--no-telegram", "--partner", partner, "--state-file", str(self.state_file)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir,
        )  # fmt: skip
        deadline = time.monotonic() + READY_S
        while not self.state_file.exists():
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "sandbox up wrote no state file in time"
            time.sleep(0.05)
        self.state: dict[str, Any] = json.loads(self.state_file.read_text())
        self.scale = scale
        self.http = httpx.Client(timeout=30)
        # Account key per (partner slug, marketplace): the token the sandboxes file orders under.
        self.keys: dict[tuple[str, str], str] = {
            (partner, m): self.state["accounts"][m]["account_key"] for m in MARKETS
        }

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self._log.close()

    def url(self, name: str) -> str:
        return str(self.state["urls"][name])

    def open_accounts(self, slug: str) -> list[str]:
        """A seller of another partner opens an account on every marketplace (the sandboxes open any
        token on first use; ``/_sandbox/seed`` with no offers hands back the ids the account got);
        returns the ``accounts connect`` lines the operator then types."""
        commands = []
        for market in Marketplace:
            creds = sandbox_credentials(market, slug)
            key = parse_credentials(market, creds).account_key()
            settings: dict[str, Any] = {}
            wanted = {"yandex": ("business_id", "campaign_id"), "uzum": ("shop_id",)}.get(market.value, ())
            if wanted:  # the ids the cabinet shows (WB, Ozon need none; a seed would reset Ozon's currency)
                empty = {"token": key, "offers": [], "existing_cards": False, "history_days": 0}
                got = self.post(market.value, "/_sandbox/seed", empty)
                settings = {k: got[k] for k in wanted}
            settings["time_scale"] = self.scale
            account = {"credentials": creds, "settings": settings, "base_url": self.url(market.value)}
            commands.append(connect_command(slug, market.value, account))
            self.keys[(slug, market.value)] = key
        return commands

    def post(self, name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(f"{self.url(name)}{path}", json=body)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def uzum_cabinet(self, slug: str, rows: list[dict[str, str]]) -> None:
        """The seller creates the products in Uzum's cabinet (Uzum has no card-create API)."""
        offers = [
            {"offer_id": r["sku"], "title": r["name"], "category": r["category"], "price": r["uzum_price"],
             "barcode": r["barcode"], "stock": 0}
            for r in rows if r["partner"] == slug
        ]  # fmt: skip
        key = self.keys[(slug, "uzum")]
        body: dict[str, Any] = {"token": key, "offers": offers, "existing_cards": True, "history_days": 0}
        if slug == self.state["partner"]:
            body["shop_id"] = self.state["accounts"]["uzum"]["settings"]["shop_id"]
        self.post("uzum", "/_sandbox/seed", body)

    def buyers(self, **flow: Any) -> None:
        """Set the buyers of every marketplace sandbox (``per_day`` orders per offer per day …)."""
        for n, market in enumerate(MARKETS):
            self.post(market, "/_sandbox/orders/flow", {**flow, "seed": 300 + n})

    def books(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every account's order book and timeline, by (partner slug, marketplace)."""
        out = {}
        for (slug, market), key in self.keys.items():
            answer = self.http.get(f"{self.url(market)}/_sandbox/orders", params={"token": key})
            answer.raise_for_status()
            out[(slug, market)] = answer.json()
        return out

    def llm_requests(self) -> int:
        answer = self.http.get(f"{self.url('llm')}/_sandbox/stats")
        answer.raise_for_status()
        return int(answer.json()["requests"])


class Operator:
    """Runs ``aimanager …`` with the operator's environment: PostgreSQL, Redis, the shared key and the
    LLM sandbox as ``sandbox up`` printed it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
        self.env.update(env)
        self.workers: list[tuple[subprocess.Popen[bytes], Any]] = []

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [sys.executable, "-m", "aimanager", *args],
            cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        said = f"{res.stdout}\n{res.stderr}"
        assert res.returncode == 0, f"aimanager {shlex.join(args)} → {res.returncode}\n{said}"
        return res

    def start_worker(self, n: int, concurrency: int = 8) -> None:
        log = (self.cwd / f"worker-{n}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "aimanager", "worker", "-c", str(concurrency)],
            cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.workers.append((proc, log))

    def stop_workers(self) -> list[int]:
        """SIGTERM every worker (graceful: finish or release what runs) and wait; their exit codes."""
        for proc, _ in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc, log in self.workers:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
            log.close()
        self.workers.clear()
        return codes

    def workers_alive(self) -> bool:
        return all(proc.poll() is None for proc, _ in self.workers)


async def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Read the operator's PostgreSQL database (the test's own look, beside the CLI's)."""
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def wait_idle(dsn: str, operator: Operator, *, limit_s: float) -> None:
    """Until no job is queued or running (twice in a row: a finishing job may queue the next)."""
    deadline = time.monotonic() + limit_s
    quiet = 0
    while quiet < 2:
        assert operator.workers_alive(), "a worker died"
        assert time.monotonic() < deadline, await query(
            dsn, "SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued','running') GROUP BY 1, 2"
        )
        busy = await query(dsn, "SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'running')")
        quiet = quiet + 1 if busy[0]["n"] == 0 else 0
        await asyncio.sleep(1.0)
