"""``aimanager bench llm``: 10,000 cards through the gateway against the LLM sandbox in its own process."""

from __future__ import annotations

import cProfile
import dataclasses
import json
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """The sandbox in its own process, so it has a core of its own during the benchmark."""

    def __init__(self, args: list[str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = "from aimanager.cli import main; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "sandbox", "llm", "--port", str(self.port), *args],
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the LLM sandbox did not start")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", timeout=5) as response:
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def bench_products(n: int, seed: int = 42) -> list[Any]:
    """``n`` distinct products of the sample catalog with complete facts (every marketplace's required
    attributes), as the card pipeline would see them."""
    import math

    from aimanager.domain.cards import ProductFacts
    from aimanager_lab.sample_catalog import generate_catalog

    rows = generate_catalog(partners=max(1, math.ceil(n / 100)), skus=100, seed=seed)[:n]
    out = []
    for row in rows:
        attributes = dict(
            (k.strip(), v.strip())
            for k, _, v in (pair.partition("=") for pair in row["attributes"].split(";"))
            if k
        )
        out.append(
            ProductFacts(
                sku=row["sku"],
                name=row["name"],
                brand=row["brand"] or None,
                category=row["category"] or None,
                description=row["description"] or None,
                attributes=attributes,
            )
        )
    return out


async def run_cards(
    url: str,
    products: list[Any],
    *,
    pack: bool,
    cache: bool,
    db: str,
    batch: bool = False,
    batch_poll_s: float | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """The products' cards through the gateway (real time, or the Batch API for low priority), then
    the same requests again (an unchanged re-run) when ``cache``.

    ``cpu_s`` is this process's CPU time for the first pass (every thread: SQLite's included), a figure
    that does not depend on the machine's load as wall time does; ``profile`` writes that pass's
    ``pstats`` there (timer: process CPU time)."""
    from aimanager.db.engine import make_engine
    from aimanager.llm import CardRequest, Gateway, GatewayConfig
    from aimanager.schema.migrate import upgrade

    engine = make_engine(db)
    await upgrade(engine)
    config = GatewayConfig(
        provider="anthropic",
        anthropic_api_key="sk-sandbox",
        anthropic_base_url=url,
        pack_size=20 if pack else 1,
        cache_store="sql" if cache else "none",
        concurrency_max=2048,
        batch_enabled=batch,
        batch_wait_s=24 * 3600.0,
    )
    if batch_poll_s is not None:  # else the product's own polling (a share of the batch's age)
        config = dataclasses.replace(config, batch_poll_s=batch_poll_s)
    gw = await Gateway.create(config, engine)
    requests = [CardRequest(p.sku, 1 + i % 50, p, priority_low=batch) for i, p in enumerate(products)]
    profiler = cProfile.Profile(time.process_time) if profile else None
    started, cpu_started = time.monotonic(), time.process_time()
    if profiler is not None:
        profiler.enable()
    results = await gw.generate_cards(requests)
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    stats = gw.stats().as_dict()
    rerun: dict[str, Any] = {}
    if cache:
        before = gw.stats()
        calls_before, cost_before = before.calls, before.cost_usd
        started = time.monotonic()
        again = await gw.generate_cards(requests)
        rerun = {
            "wall_s": time.monotonic() - started,
            "calls": gw.stats().calls - calls_before,
            "cost_usd": str(gw.stats().cost_usd - cost_before),
            "hits": sum(r.path == "cache" for r in again),
        }
    await gw.close()
    await engine.dispose()
    failures: dict[str, int] = {}
    for r in results:
        if r.draft is None:
            failures[r.failure or "answer"] = failures.get(r.failure or "answer", 0) + 1
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ok": sum(r.draft is not None for r in results),
        "failures": failures,
        "stats": stats,
        "rerun": rerun,
    }
