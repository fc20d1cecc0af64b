"""``aimanager bench llm``: 10,000 cards through the gateway against the LLM sandbox in its own process."""

from __future__ import annotations

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


async def run_cards(url: str, products: list[Any], *, pack: bool, cache: bool, db: str) -> dict[str, Any]:
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
