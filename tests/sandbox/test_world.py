"""``RemoteWorld``: the five sandboxes in a child process, seeded and read back over HTTP.

One world for the module: each marketplace gets 3 of our offers seeded as live cards through
``/_sandbox/seed``, new prices pushed through the real connector at the world's URL, and
``/_sandbox/snapshot`` shows them. Stopping the world leaves no process behind.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from aimanager.connectors.base import PriceUpdate
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.domain.categories import known_categories
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import SeedOffer
from aimanager_sandbox.common.snapshot import OfferState
from aimanager_sandbox.remote_world import RemoteWorld, WorldStartError
from aimanager_sandbox.world import NAMES, WorldOptions
from tests.sandbox.accounts import account, sample_offers

SCALE = 0.01
CATEGORIES = known_categories()


@pytest.fixture(scope="module")
def world() -> Iterator[RemoteWorld]:
    with RemoteWorld.start(time_scale=SCALE) as running:
        yield running


def offers() -> list[SeedOffer]:
    return sample_offers("REM", 3, "47800000001")


def test_urls(world: RemoteWorld) -> None:
    assert set(world.urls) == set(NAMES)
    assert all(url.startswith("http://127.0.0.1:") for url in world.urls.values())
    assert len(set(world.urls.values())) == 5
    assert world.llm_requests() == 0


@pytest.mark.parametrize("mp", list(Marketplace), ids=lambda mp: mp.value)
def test_seed_push_snapshot(world: RemoteWorld, mp: Marketplace, tmp_path: Path) -> None:
    key, credentials = account(mp)
    seeded = offers()
    assert world.snapshot(mp, key) == {}
    settings = world.seed(mp, key, seeded, existing_cards=True, history_days=0)
    assert isinstance(settings, dict) and settings
    assert world.snapshot(mp, key) == {
        o.offer_id: OfferState(o.offer_id, o.title, None, o.price, o.stock) for o in seeded
    }

    prices = [PriceUpdate(offer_id=o.offer_id, price=o.price + 5_000) for o in seeded]

    async def push() -> None:
        exports = {"export_dir": str(tmp_path)} if mp is Marketplace.UZUM else {}
        account = parse_account(
            mp,
            credentials,
            {**settings, "time_scale": SCALE, "poll_interval": 1.0, "timeout": 5.0, **exports},
        )
        conn = make_connector(account, base_url=world.urls[mp.value])
        try:
            result = await conn.update_prices(prices, wait=True)
            assert result.failed == [], result.failed
        finally:
            await conn.aclose()

    asyncio.run(push())
    after = world.snapshot(mp, key)
    assert {o: s.price for o, s in after.items()} == {p.offer_id: p.price for p in prices}
    assert {o: s.stock for o, s in after.items()} == {o.offer_id: o.stock for o in seeded}


def test_seed_rejects_bad_offers(world: RemoteWorld) -> None:
    bad = SeedOffer(offer_id="X", title="x", category="No such category", price=Decimal(1))
    with pytest.raises(RuntimeError, match="400"):
        world.seed(Marketplace.WILDBERRIES, "tok-bad", [bad, bad], existing_cards=True)


def test_control_endpoints_bypass_faults_and_auth() -> None:
    """Every API request fails at error rate 1.0; the operator endpoints still answer."""
    with RemoteWorld.start(time_scale=SCALE, market_error_rate=1.0) as faulty:
        url = faulty.urls[Marketplace.UZUM.value]
        headers = {"Authorization": "tok-faulty"}
        assert httpx.get(f"{url}/v1/product/shop/1", headers=headers, trust_env=False).status_code == 503
        faulty.seed(Marketplace.UZUM, "tok-faulty", offers(), existing_cards=True, history_days=0)
        assert set(faulty.snapshot(Marketplace.UZUM, "tok-faulty")) == {o.offer_id for o in offers()}
        assert faulty.stats(Marketplace.UZUM.value)["requests"] == 1
        process = faulty.process
    assert process.poll() is not None


def test_stop_leaves_no_process() -> None:
    running = RemoteWorld.start(time_scale=SCALE)
    pid = running.process.pid
    running.stop()
    assert running.process.returncode == 0  # SIGTERM: a clean exit, not a kill
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    running.stop()  # idempotent


def test_start_failure_carries_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WorldOptions, "argv", lambda self: ["--no-such-flag"])
    with pytest.raises(WorldStartError, match="unrecognized arguments: --no-such-flag"):
        RemoteWorld.start(time_scale=SCALE, startup_timeout=30)
