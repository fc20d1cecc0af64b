"""A simulated day of continuous operation (issue 13, "Done when"), through the public CLI only.

PostgreSQL + Redis, ``aimanager sandbox up`` (LLM and the four marketplaces, realistic LLM defaults)
and two ``aimanager worker`` processes. Three partners × ten products on all four marketplaces are
onboarded with ``partners add`` / ``accounts connect`` / ``import`` / ``run`` (day one). Then the
schedules take over (``schedule set``): orders every 1m, stock every 2m, pricing every 3m, cards every
1m (a catalog change is picked up), analytics once a day; the sandboxes' buyers order on every
marketplace; halfway, the catalog is imported again with one product's description changed.

Time. The engine's schedules run on the wall clock (``Backend.clock`` is settable in-process, but a
``aimanager worker`` has no time-scale option, and the shortest period ``schedule set`` takes is a
minute), so the scheduled "day" is ``DAY_S`` real seconds with minute periods. The sandboxes' clock
is compressed so that the same ``DAY_S`` is one whole marketplace day: the buyers order at a daily
rate per offer, and shipping, confirmation deadlines, LLM latency and rate-limit windows all scale.

Asserted:
* no marketplace ever showed more units of a SKU than the partner's pool held (timeline replay);
* each schedule fired once per period across the two workers: its ``fired`` count equals its
  ``run.scheduled`` jobs (one per period by unique key), consecutive firings are one period apart
  (never two in a period, none missed), every firing's job succeeded and queued its tasks;
* the catalog edit wrote new card versions for the edited product only, and the LLM calls after it
  were for that product only (``ai_usage_logs.detail.items``);
* the second day (the scheduled one) made no card LLM call for unchanged products.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shlex
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.servers import REDIS_HOST, REDIS_PORT, require_server
from tests.simulated_day.world import (
    MARKETS,
    Operator,
    SandboxUp,
    catalog_rows,
    query,
    wait_idle,
    write_csv,
)
from tests.timeline import violations

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.timeout(1200)]

DAY_S = 250.0  # wall seconds of the scheduled day
SCALE = DAY_S / 86_400  # the sandboxes' clock: DAY_S wall seconds are one marketplace day
PARTNERS = (("sunrise", "Sunrise Savdo"), ("bozor", "Bozor Trade"), ("ipak", "Ipak Yo'li"))
SKUS = 10
STOCK = 20  # units of the first SKU; each next one has 2 more
PER_DAY = 3.0  # orders per offer per marketplace day (x4 marketplaces per product)
SCHEDULES = {"orders": 60.0, "stock": 120.0, "pricing": 180.0, "cards": 60.0, "analytics": 86_400.0}
EDIT_AT_S = 90.0  # into the day: the catalog edit
CHECK_S = 5.0  # a worker looks for due schedules this often (WorkerConfig.schedule_check_s)
SLACK_S = 10.0  # a loaded 2-core machine: a firing may come this much after its look
LISTINGS = len(PARTNERS) * SKUS * len(MARKETS)


def every(seconds: float) -> str:
    return f"{int(seconds // 60)}m" if seconds < 86_400 else "1d"


async def test_a_simulated_day(tmp_path: Path, pg_url: str) -> None:
    require_server("Redis", REDIS_HOST, REDIS_PORT)
    world = SandboxUp(tmp_path, SCALE, PARTNERS[0][0])
    env = {
        **world.state["env"],
        "AIMANAGER_DATABASE_URL": pg_url,
        "AIMANAGER_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        "AIMANAGER_SECRET_KEY": Fernet.generate_key().decode(),
        "AIMANAGER_EXPORTS_DIR": str(tmp_path / "exports"),
    }
    aim = Operator(tmp_path, env)
    try:
        await run_the_day(world, aim, pg_url, tmp_path)
    finally:
        aim.stop_workers()
        world.stop()


async def run_the_day(world: SandboxUp, aim: Operator, dsn: str, tmp_path: Path) -> None:
    # --- onboarding, by hand --------------------------------------------------------------------------
    aim("init")
    commands = list(world.state["commands"])
    for slug, name in PARTNERS:
        aim("partners", "add", slug, "--name", name, "--ai-budget", "5")
        if slug != PARTNERS[0][0]:
            commands += world.open_accounts(slug)
    for command in commands:
        assert "tested" in aim(*shlex.split(command)[1:]).stdout
    # A nonce in every description: the LLM cache lives in the shared Redis across runs of this test,
    # and the day must pay for its first cards itself.
    nonce = f"{time.time_ns() % 10**9}"
    rows = catalog_rows(PARTNERS, SKUS, stock=STOCK)
    for row in rows:
        row["description"] += f" Партия {nonce}."
    aim("import", str(write_csv(tmp_path / "catalog.csv", rows)))
    for slug, _ in PARTNERS:
        world.uzum_cabinet(slug, rows)
    pools = {r["sku"]: int(r["stock"]) for r in rows}

    aim.start_worker(1)
    aim.start_worker(2)
    aim("run")
    await wait_idle(dsn, aim, limit_s=300)
    tasks = json.loads(aim("tasks", "list", "--format", "json", "--limit", "10000").stdout)["tasks"]
    bad = [f"{t['partner']} {t['capability']} {t['marketplace']} {t['sku']}: {t['status']} {t['reason']}"
           for t in tasks if t["status"] != "done"]  # fmt: skip
    assert not bad, "\n".join(bad[:10])
    assert sum(t["capability"] == "stock" for t in tasks) == LISTINGS
    day1_cards = await card_calls(dsn)
    assert day1_cards, "day one wrote its cards with the LLM"

    # --- the scheduled day ------------------------------------------------------------------------------
    started = time.time()
    for what, seconds in SCHEDULES.items():
        aim("schedule", "set", what, "--every", every(seconds))
    world.buyers(per_day=PER_DAY, cancel_share=0.1, ship_after=8 * 3600.0)
    while time.time() < started + EDIT_AT_S:
        assert aim.workers_alive()
        await asyncio.sleep(1.0)

    # Halfway: the same catalog again (without the stock column: the pool is the product's now), one
    # product's description changed.
    edited = rows[SKUS + 3]
    edited["description"] += " Теперь с крышкой."
    calls_before_edit = await card_calls(dsn)
    versions_before_edit = (await query(dsn, "SELECT max(id) AS m FROM card_versions"))[0]["m"]
    no_stock = [c for c in rows[0] if c != "stock"]
    aim("import", str(write_csv(tmp_path / "catalog-2.csv", rows, columns=no_stock)))

    while time.time() < started + DAY_S:
        assert aim.workers_alive()
        await asyncio.sleep(1.0)
    world.buyers(per_day=0.0)
    ended = time.time()
    codes = aim.stop_workers()
    assert codes == [0, 0], codes

    # --- no marketplace ever showed more than the pool -----------------------------------------------------
    books = world.books()
    placed = Counter(market for (_, market), book in books.items() for _ in book["orders"])
    assert all(placed[m] >= 10 for m in MARKETS), placed  # realistic rates reached every marketplace
    assert violations(books, pools) == []
    read = (await query(dsn, "SELECT count(*) AS n FROM orders"))[0]["n"]
    assert read >= sum(placed.values()) // 2, (read, placed)  # the product did read the orders

    # --- each schedule once per period, across two workers ----------------------------------------------
    schedules = {r["name"]: r for r in await query(dsn, "SELECT name, every_s, fired FROM job_schedules")}
    assert set(schedules) == {f"all:{what}" for what in SCHEDULES}
    firings: dict[str, list[tuple[float, str, dict[str, int]]]] = defaultdict(list)
    scheduled = "SELECT unique_key, enqueued_at, status, result FROM jobs WHERE kind = 'run.scheduled'"
    for r in await query(dsn, scheduled + " ORDER BY id"):
        name = r["unique_key"].removeprefix("schedule:").rsplit(":", 1)[0]
        firings[name].append((r["enqueued_at"], r["status"], json.loads(r["result"] or "{}")))
    orders_jobs = (await query(dsn, "SELECT count(*) AS n FROM jobs WHERE kind = 'orders.sync'"))[0]["n"]
    for what, period in SCHEDULES.items():
        name = f"all:{what}"
        fired = firings[name]
        assert schedules[name]["fired"] == len(fired), (name, schedules[name]["fired"], len(fired))
        times = [t for t, _, _ in fired]
        assert started - 1 <= times[0] <= started + 60, (name, times[0] - started)  # fires when set
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(period - 0.5 <= g <= period + CHECK_S + SLACK_S for g in gaps), (name, gaps)
        if period < DAY_S:  # and none missed at the end
            assert ended - times[-1] <= period + CHECK_S + SLACK_S, (name, ended - times[-1])
        else:
            assert len(fired) == 1, (name, len(fired))
        assert all(status == "succeeded" for _, status, _ in fired), (name, fired)
        for _, _, result in fired:  # each firing is a run whose tasks are visible
            if what == "orders":
                assert result == {"orders": len(PARTNERS)}, result
            elif what in ("stock", "pricing"):
                # Queued at once, or (pricing) behind a card run still in flight: chained, not dropped.
                planned = result.get(what, 0) + result.get(f"waiting_{what}", 0)
                assert planned == len(PARTNERS) * SKUS * len(MARKETS), (what, result)
            elif what == "analytics":
                assert result.get(what) == len(PARTNERS), result
    assert orders_jobs == len(PARTNERS) * len(firings["all:orders"])

    # --- the second day made no card LLM call for unchanged products; the edit only for its own ------------
    assert calls_before_edit == day1_cards, "unchanged products cost LLM calls on the second day"
    after_edit = (await card_calls(dsn))[len(calls_before_edit) :]
    edited_id = await product_id(dsn, edited["sku"])
    assert after_edit, "the edited product was not written again"
    assert {i for items in after_edit for i in items} == {str(edited_id)}, after_edit
    new_versions = await query(
        dsn, "SELECT product_id, marketplace FROM card_versions WHERE id > $1", versions_before_edit
    )
    assert {r["product_id"] for r in new_versions} == {edited_id}, new_versions
    assert {r["marketplace"] for r in new_versions} == set(MARKETS)
    failed = await query(
        dsn, "SELECT capability, marketplace, count(*) AS n, min(reason) AS r FROM tasks "
        "WHERE status = 'failed' GROUP BY 1, 2"
    )  # fmt: skip
    print(  # the day in one line (pytest -s), for the docs and for whoever looks at a failure
        f"simulated day: orders placed {dict(placed)}, read {read}; firings "
        f"{ {n: len(f) for n, f in firings.items()} }; card calls day one {len(day1_cards)}, after the "
        f"edit {len(after_edit)}; tasks failed during the day {[tuple(r) for r in failed]}"
    )


async def card_calls(dsn: str) -> list[list[str]]:
    """The products (ids) of every card LLM call, oldest first (cache hits are not calls)."""
    rows = await query(
        dsn, "SELECT detail FROM ai_usage_logs WHERE task_kind = 'card' AND path <> 'cache' ORDER BY id"
    )
    return [list(json.loads(r["detail"]).get("items", [])) if r["detail"] else [] for r in rows]


async def product_id(dsn: str, sku: str) -> int:
    return int((await query(dsn, "SELECT id FROM products WHERE sku = $1", sku))[0]["id"])
