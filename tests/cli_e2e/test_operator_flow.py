"""The operator's whole path through the public CLI only, against ``aimanager sandbox up``.

Every product step is a subprocess running ``aimanager …`` exactly as typed by hand (the connect
commands are the very lines ``sandbox up`` printed): init → partners add → accounts connect (4
marketplaces) → import → run → worker --until-idle → tasks list --format json. Then the sandboxes are
asked what they hold, and it must be what the database says. A second import brings a product with
no brand (every marketplace requires one): its cards end needs-input with no LLM call and nothing
pushed, and every other task stays done.

The world side (not the product) does two things an operator does outside the product: reads the
sandboxes' inspect endpoints, and creates the products in Uzum's seller cabinet (Uzum has no
card-create API; in the sandbox the cabinet is ``POST /_sandbox/seed``).

The LLM sandbox runs with its realistic defaults (imperfect answers and faults at their default
rates): the gateway must cope, so nothing is made kind here. Its clock and the marketplaces' run at
``SCALE`` so the whole flow takes seconds.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

SCALE = 0.05  # wall seconds per sandbox second: LLM latency, limit windows, async task delays
READY_S = 30.0
CATEGORIES = ("Кружки", "Футболки", "Смартфоны", "Рюкзаки", "Электрочайники")
COLUMNS = (
    "partner", "partner_name", "sku", "barcode", "name", "brand", "category", "description",
    "attributes", "images", "cost_price", "currency", "stock",
    *(f"{m}_{c}" for m in ("wb", "ozon", "uzum", "yandex")
      for c in ("price", "commission_pct", "logistics", "min_margin_pct")),
)  # fmt: skip


def ean13(stem: str) -> str:
    body = stem[:12].ljust(12, "0")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def product(i: int, *, brand: str = "Lumo") -> dict[str, str]:
    category = CATEGORIES[i % len(CATEGORIES)]
    attrs = {
        "Вес, г": str(300 + 10 * i),
        "Длина, мм": "200",
        "Ширина, мм": "150",
        "Высота, мм": "100",
        "Страна производства": "Узбекистан",
        "Цвет": "синий",
        "ИКПУ": f"{10**16 + i}",
    }
    row = {
        "partner": "acme",
        "partner_name": "Acme Savdo",
        "sku": f"E2E-{i:03d}",
        "barcode": ean13(f"4780000000{i:02d}"),
        "name": f"{category[:-1]} {brand or 'без бренда'} модель {i}",
        "brand": brand,
        "category": category,
        "description": f"{category}: модель {i}, вес {attrs['Вес, г']} г, страна производства Узбекистан.",
        "attributes": "; ".join(f"{k}={v}" for k, v in attrs.items()),
        "images": f"https://img.example/e2e/{i}/1.jpg; https://img.example/e2e/{i}/2.jpg",
        "cost_price": str(50_000 + 1_000 * i),
        "currency": "UZS",
        "stock": str(10 + i),
    }
    for market in ("wb", "ozon", "uzum", "yandex"):
        row.update(
            {
                f"{market}_price": str(150_000 + 2_000 * i),
                f"{market}_commission_pct": "12",
                f"{market}_logistics": "8000",
                f"{market}_min_margin_pct": "10",
            }
        )
    return row


def write_catalog(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``aimanager sandbox up`` as a subprocess; yields its state file once every server accepts."""
    state_file = tmp_path / "sandbox.json"
    log = (tmp_path / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aimanager", "sandbox", "up", "--time-scale", str(SCALE), "--no-telegram",
         "--state-file", str(state_file)],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_S
        while not state_file.exists():
            assert proc.poll() is None, (tmp_path / "sandbox.log").read_text()
            assert time.monotonic() < deadline, "sandbox up wrote no state file in time"
            time.sleep(0.05)
        yield json.loads(state_file.read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert not state_file.exists(), "sandbox up leaves no stale state file behind"
    assert "sandboxes stopped" in (tmp_path / "sandbox.log").read_text()


class Operator:
    """Runs ``aimanager`` in its own working directory, with the environment ``sandbox up`` printed."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
        self.env.update(env)
        self.env["AIMANAGER_DATABASE_URL"] = f"sqlite:///{cwd / 'aimanager.db'}"

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [sys.executable, "-m", "aimanager", *args],
            cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert res.returncode == 0, (
            f"aimanager {' '.join(args)} → {res.returncode}\n{res.stdout}\n{res.stderr}"
        )
        return res

    def tasks(self) -> list[dict[str, Any]]:
        listed = json.loads(self("tasks", "list", "--format", "json", "--limit", "10000").stdout)
        tasks: list[dict[str, Any]] = listed["tasks"]
        return tasks

    def db(self, query: str) -> list[tuple[Any, ...]]:
        """Read the operator's database (read-only) to compare with what the sandboxes hold."""
        with sqlite3.connect(f"file:{self.cwd / 'aimanager.db'}?mode=ro", uri=True) as conn:
            return conn.execute(query).fetchall()


def uzum_cabinet(state: dict[str, Any], rows: list[dict[str, str]]) -> None:
    """The seller creates the products in Uzum's cabinet (no API for it): the sandbox's cabinet."""
    uzum = state["accounts"]["uzum"]
    body = {
        "token": uzum["account_key"],
        "existing_cards": True,
        "shop_id": uzum["settings"]["shop_id"],
        "history_days": 0,
        "offers": [
            {
                "offer_id": r["sku"],
                "title": r["name"],
                "category": r["category"],
                "price": r["uzum_price"],
                "barcode": r["barcode"],
                "stock": 0,
            }
            for r in rows
        ],
    }
    httpx.post(f"{uzum['base_url']}/_sandbox/seed", json=body, timeout=10).raise_for_status()


def snapshot(state: dict[str, Any], market: str) -> dict[str, dict[str, Any]]:
    account = state["accounts"][market]
    answer = httpx.get(
        f"{account['base_url']}/_sandbox/snapshot", params={"token": account["account_key"]}, timeout=10
    )
    answer.raise_for_status()
    found: dict[str, dict[str, Any]] = answer.json()
    return found


def llm_requests(state: dict[str, Any]) -> int:
    return int(httpx.get(f"{state['urls']['llm']}/_sandbox/stats", timeout=10).json()["requests"])


def test_operator_flow_by_hand(sandbox: dict[str, Any], tmp_path: Path) -> None:
    ops_dir = tmp_path / "ops"
    ops_dir.mkdir()
    aim = Operator(ops_dir, sandbox["env"])
    aim("init")
    aim("partners", "add", "acme", "--name", "Acme Savdo", "--ai-budget", "5")
    for command in sandbox["commands"]:  # pasted as printed
        words = shlex.split(command)
        assert words[:3] == ["aimanager", "accounts", "connect"]
        assert "tested" in aim(*words[1:]).stdout
    listed = aim("accounts", "list").stdout
    assert listed.count("ok") >= 4 and "expires" in listed  # health: tested; WB's JWT carries its expiry

    rows = [product(i) for i in range(1, 6)]
    aim("import", str(write_catalog(tmp_path / "catalog.csv", rows)))
    uzum_cabinet(sandbox, rows)
    aim("run")
    aim("worker", "--until-idle", timeout=150)

    tasks = aim.tasks()
    not_done = [t for t in tasks if t["status"] != "done"]
    assert not not_done, not_done
    got = {(t["capability"], t["marketplace"], t["sku"]) for t in tasks}
    markets = ("wildberries", "ozon", "yandex", "uzum")
    for capability in ("cards", "pricing", "stock"):
        assert {(capability, m, r["sku"]) for m in markets for r in rows} <= got, capability

    # The sandboxes hold what the database says: selling prices, stock, and the cards' titles.
    listings = aim.db(
        "SELECT l.marketplace, p.sku, l.price, l.stock_pushed, cv.content FROM listings l "
        "JOIN products p ON p.id = l.product_id LEFT JOIN card_versions cv ON cv.id = l.card_version_id"
    )
    assert len(listings) == 4 * len(rows)
    held = {m: snapshot(sandbox, m) for m in markets}
    for market, sku, price, stock, content in listings:
        offer = held[market].get(sku)
        assert offer is not None, (market, sku)
        assert Decimal(offer["price"]) == Decimal(str(price)), (market, sku, offer, price)
        assert offer["stock"] == stock, (market, sku, offer, stock)
        assert content is not None, (market, sku)
        if market != "uzum":  # Uzum's card is an exported file; its title is the cabinet's
            assert offer["title"] == json.loads(content)["variant"]["title"], (market, sku)

    # A product no marketplace can take: no brand. Needs input, no LLM call, nothing pushed.
    # (Product work only: an analytics run would rightly ask the LLM for the partner's narrative.)
    before = llm_requests(sandbox)
    card_calls = aim.db("SELECT count(*) FROM ai_usage_logs WHERE task_kind = 'card'")
    aim("import", str(write_catalog(tmp_path / "more.csv", [product(6, brand="")])))
    aim("run", "-c", "cards", "-c", "pricing", "-c", "stock")
    aim("worker", "--until-idle", timeout=150)
    assert llm_requests(sandbox) == before  # the others are unchanged: no call for them either
    assert aim.db("SELECT count(*) FROM ai_usage_logs WHERE task_kind = 'card'") == card_calls

    tasks = aim.tasks()
    cards_6 = {t["marketplace"]: t for t in tasks if t["sku"] == "E2E-006" and t["capability"] == "cards"}
    assert set(cards_6) == set(markets)
    # The reason names the fact by the marketplace's own label (every one calls it "Бренд").
    assert all(t["status"] == "needs_input" and "Бренд" in t["reason"] for t in cards_6.values()), cards_6
    # Its price and stock wait for a card that cannot exist yet: nothing is pushed for it, and its
    # tasks say it is waiting (needs input / skipped), never done or failed by a marketplace's refusal.
    waiting = [t for t in tasks if t["sku"] == "E2E-006" and t["capability"] in ("pricing", "stock")]
    assert all(t["status"] in ("needs_input", "skipped") for t in waiting), waiting
    others = [t for t in tasks if t["sku"] != "E2E-006"]
    assert others and all(t["status"] == "done" for t in others), [t for t in others if t["status"] != "done"]
    for market in markets:
        assert "E2E-006" not in snapshot(sandbox, market)
