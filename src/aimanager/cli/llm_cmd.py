"""``aimanager sandbox llm`` (the LLM sandbox server) and ``aimanager bench llm`` (10,000 cards)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import typer

from aimanager.cli.app import app, bench_app, jobs_app, sandbox_app  # noqa: F401


@sandbox_app.command("llm")
def sandbox_llm(
    port: int = typer.Option(8765, help="Loopback port (0 picks a free one)."),
    time_scale: float = typer.Option(1.0, help="Multiply every duration (latency, limit windows) by this."),
    rpm: int = typer.Option(4000, help="Requests per (sandbox) minute per model; 0 = unlimited."),
    itpm: int = typer.Option(4_000_000, help="Input tokens per minute; 0 = unlimited."),
    otpm: int = typer.Option(800_000, help="Output tokens per minute; 0 = unlimited."),
    latency_min: float = typer.Option(2.0, help="Minimum latency per call (sandbox seconds)."),
    latency_max: float = typer.Option(5.0, help="Maximum latency per call (sandbox seconds)."),
    error_rate: float = typer.Option(0.0, help="Share of calls answered 500."),
    overload_rate: float = typer.Option(0.0, help="Share of calls answered 529."),
    batch_seconds: float = typer.Option(30.0, help="Processing time of a batch (sandbox seconds)."),
) -> None:
    """Serve Anthropic Messages/Batches and OpenAI Chat/Batch on 127.0.0.1 with answers from the offline
    writer. Point the gateway at it with AIMANAGER_ANTHROPIC_BASE_URL / AIMANAGER_OPENAI_BASE_URL."""
    import uvicorn

    from aimanager.sandbox.llm import SandboxConfig, create_app

    config = SandboxConfig(
        time_scale=time_scale,
        rpm=rpm or None,
        itpm=itpm or None,
        otpm=otpm or None,
        latency_min_s=latency_min,
        latency_max_s=latency_max,
        error_500_rate=error_rate,
        overload_rate=overload_rate,
        batch_seconds=batch_seconds,
    )
    typer.echo(f"LLM sandbox on http://127.0.0.1:{port} (time scale {time_scale})", err=True)
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _SandboxProcess:
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


def bench_products(n: int) -> list[Any]:
    """``n`` distinct, realistic products (Russian names, a few attributes with numbers)."""
    from aimanager.domain.cards import ProductFacts

    kinds = [
        ("Термокружка", "Посуда"),
        ("Рюкзак", "Сумки"),
        ("Чайник", "Бытовая техника"),
        ("Кроссовки", "Обувь"),
        ("Настольная лампа", "Освещение"),
    ]
    brands = ["Arctic", "Scarlett", "Xiaomi", "Tefal", "Polaris", "Artel"]
    out = []
    for i in range(n):
        kind, category = kinds[i % len(kinds)]
        brand = brands[i % len(brands)]
        out.append(
            ProductFacts(
                sku=f"SKU-{i:05d}",
                name=f"{kind} {brand} модель {i}",
                brand=brand,
                category=category,
                description=f"{kind} для дома и поездок. Гарантия {12 + i % 13} месяцев. Цвет по фото.",
                attributes={"Вес": f"{200 + i % 700} г", "Цвет": ["чёрный", "белый", "синий"][i % 3]},
            )
        )
    return out


async def _run(url: str, products: list[Any], *, pack: bool, cache: bool, db: str) -> dict[str, Any]:
    from aimanager.db.engine import make_engine
    from aimanager.db.migrate import upgrade
    from aimanager.llm import CardRequest, Gateway, GatewayConfig

    engine = make_engine(db)
    await upgrade(engine)
    config = GatewayConfig(
        provider="anthropic",
        anthropic_api_key="sk-sandbox",
        anthropic_base_url=url,
        pack_size=20 if pack else 1,
        cache_store="sql" if cache else "none",
        concurrency_max=2048,
        max_output_tokens_per_item=400,
    )
    gw = await Gateway.create(config, engine)
    requests = [CardRequest(p.sku, 1 + i % 50, p) for i, p in enumerate(products)]
    started = time.monotonic()
    results = await gw.generate_cards(requests)
    wall = time.monotonic() - started
    stats = gw.stats().as_dict()
    rerun: dict[str, Any] = {}
    if cache:
        calls_before = gw.stats().calls
        started = time.monotonic()
        again = await gw.generate_cards(requests)
        rerun = {
            "wall_s": time.monotonic() - started,
            "calls": gw.stats().calls - calls_before,
            "hits": sum(r.path == "cache" for r in again),
        }
    await gw.close()
    await engine.dispose()
    return {"wall_s": wall, "ok": sum(r.draft is not None for r in results), "stats": stats, "rerun": rerun}


@bench_app.command("llm")
def bench_llm(
    items: int = typer.Option(10_000, help="Card requests per run."),
    time_scale: float = typer.Option(
        0.25, help="Sandbox time scale (1.0 = real 2-5 s latency, real limits)."
    ),
    rpm: int = typer.Option(4000),
    itpm: int = typer.Option(4_000_000),
    otpm: int = typer.Option(800_000),
    output: Path = typer.Option(Path("BENCHMARKS.md"), help="File to write the 'llm' section of."),
) -> None:
    """10,000 cards through the gateway against the sandbox: packed + cached, then one card per call
    with no cache; wall time against the bound set by the sandbox's limits."""
    from aimanager.benchmarks import machine_line, write_section
    from aimanager.logs import configure

    configure("WARNING")
    products = bench_products(items)
    sandbox_args = [
        "--time-scale",
        str(time_scale),
        "--rpm",
        str(rpm),
        "--itpm",
        str(itpm),
        "--otpm",
        str(otpm),
    ]
    rows = []
    for label, pack, cache in (
        ("packed (20/call) + cache", True, True),
        ("1 card/call, no cache", False, False),
    ):
        sandbox = _SandboxProcess(sandbox_args)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                db = f"sqlite+aiosqlite:///{tmp}/bench.db"
                run = asyncio.run(_run(sandbox.url, products, pack=pack, cache=cache, db=db))
            server = sandbox.stats()
        finally:
            sandbox.stop()
        s = run["stats"]
        # The limit-bound time: the slowest of the three buckets for the work actually sent, in sandbox
        # minutes, converted to real seconds (the sandbox's minute lasts 60 × time_scale seconds).
        bounds = {
            "RPM": s["calls"] / rpm,
            "ITPM": s["input_tokens"] / itpm,
            "OTPM": s["output_tokens"] / otpm,
        }
        which, minutes = max(bounds.items(), key=lambda kv: kv[1])
        bound_s = minutes * 60 * time_scale
        rows.append((label, run, server, which, bound_s))
        typer.echo(
            f"{label}: wall {run['wall_s']:.1f} s, bound {bound_s:.1f} s ({which}), "
            f"calls {s['calls']}, 429s {server['throttled']} {server.get('throttled_by')}, "
            f"fallbacks {s['fallbacks']}, cost ${s['cost_usd']}",
            err=True,
        )
    lines = [
        "## LLM gateway: 10,000 cards against the LLM sandbox",
        "",
        f"Command: `aimanager bench llm --items {items} --time-scale {time_scale} --rpm {rpm} --itpm {itpm} "
        f"--otpm {otpm}`  ",
        f"Machine: {machine_line()}  ",
        f"Sandbox (own process): latency 2-5 s, {rpm:,} RPM, {itpm:,} ITPM, {otpm:,} OTPM per model, "
        "buckets of 6 s, OTPM charged with max_tokens at start and corrected at the end (as Anthropic "
        f"does); time scale {time_scale} (every duration × {time_scale}, so 1 sandbox minute = "
        f"{60 * time_scale:g} s). Model: claude-haiku-5-5 prices from the pinned table; max_tokens 400 per "
        "card; the client learns the limits from the response headers (one probe call per model).",
        "",
        "| run | wall (s) | limit-bound (s) | binding limit | wall / bound | calls | 429s | input tok | "
        "output tok | cost (USD) | cards ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, run, server, which, bound_s in rows:
        s = run["stats"]
        lines.append(
            f"| {label} | {run['wall_s']:.1f} | {bound_s:.1f} | {which} | {run['wall_s'] / bound_s:.2f} | "
            f"{s['calls']:,} | {server['throttled']} | {s['input_tokens']:,} | {s['output_tokens']:,} | "
            f"{s['cost_usd']} | {run['ok']:,} |"
        )
    packed = rows[0][1]
    if packed["rerun"]:
        r = packed["rerun"]
        lines += [
            "",
            f"Re-run of the same {items:,} requests with the cache: {r['hits']:,} cache hits, "
            f"{r['calls']} calls, {r['wall_s']:.1f} s.",
        ]
    lines += [
        "",
        "Bound = max(calls / RPM, input tokens / ITPM, output tokens / OTPM) for the work each run "
        "actually sent, in real seconds. Target: wall ≤ 1.25 × bound.",
    ]
    write_section("llm", "\n".join(lines), output)
    typer.echo("\n".join(lines))
