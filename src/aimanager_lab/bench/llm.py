"""``aimanager bench llm``: cards for the sample catalog against the LLM sandbox in its own process.

``public_runs`` is the bench as an operator runs the product (``aimanager sandbox up``, ``init``,
``import``, ``partners import``, ``worker``, ``run -c cards [--priority low]``; figures from the
ledger and the sandbox's stats); ``run_cards`` drives the gateway directly, for the CPU-per-card
profiles and the tests that hold the card path's fast paths to the long way."""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import json
import socket
import subprocess
import sys
import time
import urllib.request
from functools import partial
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


# --- through the product's public path ------------------------------------------------------------
async def ledger_figures(conn: Any, *, started_epoch: float) -> dict[str, Any]:
    """A cards pass's figures from the database (read-only; ``conn`` an SQLAlchemy async connection):
    the ledger (``ai_usage_logs``: calls, tokens, cost, outcomes), the card tasks by outcome (counted per
    product: one ru+uz card serves a product's four listings) and the wall time from the card jobs'
    queueing to the last one's end (``started_epoch`` if none was queued).

    Escalations are the calls made on another model than the one most card calls used (a pack that
    failed validation is re-asked on the larger tier)."""
    from decimal import Decimal

    from sqlalchemy import text

    rows = (
        await conn.execute(
            text(
                "SELECT model, path, outcome, count(*), coalesce(sum(input_tokens), 0),"
                " coalesce(sum(output_tokens), 0), coalesce(sum(cache_write_tokens), 0),"
                " coalesce(sum(cost_usd), 0) FROM ai_usage_logs GROUP BY model, path, outcome"
            )
        )
    ).all()
    calls_by_model: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    stats: dict[str, Any] = {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0}
    cost = Decimal(0)
    cost_by_model: dict[str, Decimal] = {}
    for model, path, outcome, n, tin, tout, tcw, usd in rows:
        outcomes[outcome] = outcomes.get(outcome, 0) + int(n)
        cost += Decimal(str(usd))
        cost_by_model[model] = cost_by_model.get(model, Decimal(0)) + Decimal(str(usd))
        if path == "cache":
            continue
        calls_by_model[model] = calls_by_model.get(model, 0) + int(n)
        stats["calls"] += int(n)
        stats["input_tokens"] += int(tin)
        stats["output_tokens"] += int(tout)
        stats["cache_write_tokens"] += int(tcw)
    main = max(calls_by_model, key=lambda m: calls_by_model[m], default=None)
    stats["escalations"] = sum(n for m, n in calls_by_model.items() if m != main)
    stats["escalation_usd"] = str(sum((c for m, c in cost_by_model.items() if m != main), Decimal(0)))
    stats["cost_usd"] = str(cost)
    stats["outcomes"] = outcomes
    by_status = dict(
        (
            await conn.execute(
                text(
                    "SELECT status, count(DISTINCT sku) FROM tasks WHERE capability = 'cards' GROUP BY status"
                )
            )
        ).all()
    )
    # From the moment `run` queued the cards (not from its command's start: a Python start is no part
    # of the gateway's time) to the last card job's end.
    first, last = (
        await conn.execute(
            text("SELECT min(enqueued_at), max(finished_at) FROM jobs WHERE kind LIKE 'cards.generate%'")
        )
    ).one()
    started_epoch = float(first or started_epoch)
    failures = {
        label: int(by_status[status])
        for status, label in (("failed", "rejected"), ("needs_input", "needs input"), ("skipped", "skipped"))
        if by_status.get(status)
    }
    return {
        "wall_s": max(0.0, float(last or started_epoch) - started_epoch),
        "ok": int(by_status.get("done", 0)),
        "failures": failures,
        "stats": stats,
        "rerun": {},
    }


async def public_pass(
    items: int,
    *,
    batch: bool,
    time_scale: float,
    rpm: int,
    itpm: int,
    otpm: int,
    bad_answer_rate: float,
    batch_seconds: float,
    concurrency: int = 160,
    log: Any = print,
    timeout_s: float = 7200.0,
) -> dict[str, Any]:
    """One pass as an operator runs it, on a fresh sandbox and database (``public_run``): ``sandbox up``
    with these limits, ``init``, ``import`` of ``items`` sample products, ``partners import``, one
    ``worker`` and ``run -c cards`` (medium: real time) or ``run -c cards --priority low`` (the Batch
    API). Its figures come from the ledger and the tasks table; the sandbox's own count of cut calls,
    429s and imperfect answers from its ``/_sandbox/stats``."""
    import math
    import tempfile
    from pathlib import Path

    from sqlalchemy.ext.asyncio import create_async_engine

    from aimanager_lab.bench.fleet import FleetOptions
    from aimanager_lab.bench.public_run import recreate_database, run_args, run_public
    from aimanager_lab.sample_catalog import generate_catalog
    from aimanager_sandbox.knobs import SandboxKnobs

    partners = max(1, math.ceil(items / 100))
    rows = generate_catalog(partners=partners, skus=100, seed=42)[:items]  # bench_products' products
    url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='aim-llm-')) / 'bench.db'}"
    options = FleetOptions(
        partners=partners, skus=100, concurrency=concurrency, time_scale=time_scale, history_days=0,
        pg_url=url, redis_url="", timeout_s=timeout_s, sample_s=0.5, keep_database=True,
        capabilities=("cards",), priority="low" if batch else None, single_worker=True,
        sandbox=SandboxKnobs(
            llm_rpm=rpm, llm_itpm=itpm, llm_otpm=otpm, llm_bad_answer_rate=bad_answer_rate,
            llm_batch_seconds=batch_seconds,
        ),
        # The Batch API is the operator's choice (off by default): on in both passes, so the only
        # difference between them is the priority asked for.
        extra_env=(("AIMANAGER_LLM_BATCH_ENABLED", "true"),),
    )  # fmt: skip
    during = None if batch else partial(_then_unchanged_rerun, url=url, args=run_args(options))
    done = await run_public(options, log, catalog_rows=rows, during=during)
    engine = create_async_engine(url)
    try:
        run: dict[str, Any]
        if done.during is not None:
            run = dict(done.during)  # the first pass's figures, read before its re-run
        else:
            async with engine.connect() as conn:
                run = await ledger_figures(conn, started_epoch=done.started_epoch)
    finally:
        await engine.dispose()
        await recreate_database(url, drop_only=True)
    server = done.llm_stats
    run["stats"]["cut_calls"] = int(server.get("cut_calls", 0))
    run["server"] = server
    run["cpu_s"] = done.figures.cpu_s
    run["drained"] = done.drained
    return run


async def _drained(conn: Any) -> None:
    from aimanager_lab.bench.public_run import queue_left

    while await queue_left(conn):
        await conn.commit()  # a fresh snapshot for the next look
        await asyncio.sleep(0.5)


async def _then_unchanged_rerun(ctx: Any, *, url: str, args: list[str]) -> dict[str, Any]:
    """Once the pass has drained: its figures, then the same ``aimanager run`` again with nothing
    changed, as an operator repeats a run; the re-run's calls and cost are the ledger's growth, its
    time until the queue is empty again."""
    from decimal import Decimal

    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await _drained(conn)
            first = await ledger_figures(conn, started_epoch=time.time())
            await conn.commit()
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *args, env=ctx.env, cwd=ctx.workdir, stdout=asyncio.subprocess.DEVNULL
            )
            if await proc.wait() != 0:
                raise RuntimeError(f"the re-run's {' '.join(args[2:])} exited {proc.returncode}")
            await _drained(conn)
            again = await ledger_figures(conn, started_epoch=time.time())
    finally:
        await engine.dispose()
    before, after = first["stats"], again["stats"]
    first["rerun"] = {
        "wall_s": time.monotonic() - started,
        "calls": after["calls"] - before["calls"],
        "cost_usd": str(Decimal(after["cost_usd"]) - Decimal(before["cost_usd"])),
        # Cards not asked again: served from the card versions or the LLM cache.
        "hits": first["ok"],
    }
    return first


LABELS = (("real time (run -c cards)", False), ("Batch API (run -c cards --priority low)", True))


async def public_runs(items: int, **knobs: Any) -> list[tuple[str, bool, dict[str, Any]]]:
    """Both passes of ``aimanager bench llm`` through the public path, each on its own sandbox and
    database: real time (medium priority), then the Batch API (low); ``knobs`` as ``public_pass``."""
    return [(label, batch, await public_pass(items, batch=batch, **knobs)) for label, batch in LABELS]
