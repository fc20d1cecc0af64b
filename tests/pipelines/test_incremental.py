"""Incremental work over the sandboxes: an unchanged catalog costs no LLM call and no card or price
push; a catalog edit of one product writes and pushes only its cards; a price push cut off before its
outcome was recorded is settled by reading it back, never pushed twice or left open."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select, update

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import CardVersion, Listing, MarketplaceIntegration, Partner, PriceChange, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import JobSpec, SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.capabilities import pricing
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.partner_settings import set_values
from aimanager.pipelines.services.planner import build_plan, enqueue_plan
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog

pytestmark = pytest.mark.slow
# Request paths that change what a marketplace holds (cards or prices); reads never match these.
WRITES = ("upload", "/import", "updates", "sendPriceData", "cards/update")


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


@pytest.fixture
async def rt(world: SandboxWorld, db_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    url = db_url
    # A shared database wants a key from the environment (every host needs the same one).
    key = SecretStr(Fernet.generate_key().decode())
    settings = Settings(database_url=url, secret_key=key, secret_key_file=tmp_path / "key")
    engine = make_engine(url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    runtime = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(export_dir=tmp_path / "exports"),
        report_dir=tmp_path / "reports",
    )
    box = CredentialBox.from_settings(settings)
    report = await insert_catalog(runtime.sessions, generate_catalog(partners=1, skus=4))
    assert report.ok, report.errors
    await connect_partners(world, runtime.sessions, box)
    runtime.test_box = box  # type: ignore[attr-defined]
    yield runtime
    await runtime.aclose()
    await backend.close()
    await engine.dispose()


async def run(rt: Any, caps: list[Capability]) -> None:
    plan = await build_plan(rt.sessions, caps)
    await enqueue_plan(rt.backend, plan)
    await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=8)).run(until_idle=True)


def writes(world: SandboxWorld) -> dict[str, int]:
    """Write requests each marketplace sandbox has answered, by path."""
    out: dict[str, int] = {}
    for market in Marketplace:
        for path, n in world.world.stats(market.value)["by_path"].items():
            if any(w in path for w in WRITES):
                out[f"{market.value} {path}"] = n
    return out


async def count(rt: Any, model: Any) -> int:
    async with rt.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def account_key(rt: Any, market: Marketplace) -> str:
    async with rt.sessions() as session:
        row = (
            await session.execute(
                select(MarketplaceIntegration).where(MarketplaceIntegration.marketplace == market.value)
            )
        ).scalar_one()
    return parse_credentials(market, rt.test_box.open(row.credentials_encrypted)).account_key()


async def test_steady_state_makes_no_llm_call_and_no_push_and_an_edit_redoes_only_its_cards(
    rt: Any, world: SandboxWorld, tmp_path: Path
) -> None:
    # Prices reach their targets in one move (the default 10 % step would take a few runs to get there).
    async with rt.sessions() as session, session.begin():
        partner = (await session.execute(select(Partner))).scalar_one()
        await set_values(session, partner, ["max_step_pct=100"], rt.settings)
    await run(rt, [Capability.CARDS])
    await run(rt, [Capability.PRICING])
    assert rt.progress.failures == []
    calls, versions, changes = (
        world.world.llm_requests(),
        await count(rt, CardVersion),
        await count(rt, PriceChange),
    )
    before = writes(world)
    exports = sorted(p.name for p in (tmp_path / "exports").rglob("*"))
    assert calls > 0 and versions == 16 and changes > 0 and before

    # The same catalog again: nothing to write, nothing to push.
    await run(rt, [Capability.CARDS])
    await run(rt, [Capability.PRICING])
    assert world.world.llm_requests() == calls
    assert await count(rt, CardVersion) == versions
    async with rt.sessions() as session:
        later = (await session.execute(select(PriceChange).where(PriceChange.id > changes))).scalars().all()
    assert later == [], [(c.old_price, c.new_price, c.reason) for c in later]
    assert writes(world) == before
    assert sorted(p.name for p in (tmp_path / "exports").rglob("*")) == exports
    async with rt.sessions() as session:
        listings = (await session.execute(select(Listing))).scalars().all()
    assert all(li.card_pushed_hash for li in listings if li.marketplace != "uzum")

    # One product's facts change: only its four cards are written again and pushed.
    async with rt.sessions() as session, session.begin():
        product = (await session.execute(select(Product).order_by(Product.id).limit(1))).scalar_one()
        edited = product.id
        await session.execute(update(Product).where(Product.id == edited).values(name=product.name + " Pro"))
    await run(rt, [Capability.CARDS])
    async with rt.sessions() as session:
        new = (await session.execute(select(CardVersion).where(CardVersion.id > versions))).scalars().all()
    assert {cv.product_id for cv in new} == {edited} and len(new) == 4
    assert {cv.status for cv in new} == {"pushed", "exported"}
    assert world.world.llm_requests() > calls
    after = writes(world)
    assert after != before
    # The WB card on the marketplace is the new one.
    wb = next(cv for cv in new if cv.marketplace == "wildberries")
    state = world.snapshot(Marketplace.WILDBERRIES, await account_key(rt, Marketplace.WILDBERRIES))
    assert state[product.sku].title == wb.content["variant"]["title"]


def price_calls(world: SandboxWorld) -> int:
    return sum(n for p, n in world.world.stats("uzum")["by_path"].items() if "sendPriceData" in p)


async def _uzum_job(rt: Any) -> Any:
    await rt.backend.enqueue_many([JobSpec("pricing.apply", {"marketplace": "uzum"}, partner_id=1)])
    [job] = await rt.backend.claim("w", 1, lease_s=60, kinds=["pricing.apply"])
    return job


async def _open_push(rt: Any, factor: int, reason: str, pushed_at: Any) -> PriceChange:
    """A ``pushed`` price change of the first Uzum listing whose outcome was never recorded."""
    async with rt.sessions() as session, session.begin():
        listing = (
            await session.execute(select(Listing).where(Listing.marketplace == "uzum").limit(1))
        ).scalar_one()
        change = PriceChange(
            partner_id=listing.partner_id,
            listing_id=listing.id,
            old_price=listing.price,
            new_price=listing.price * factor,
            floor=listing.price,
            reason=reason,
            status="pushed",
            pushed_at=pushed_at,
        )
        session.add(change)
    return change


async def test_a_price_push_cut_off_before_its_record_is_read_back_not_sent_twice(
    rt: Any, world: SandboxWorld
) -> None:
    await run(rt, [Capability.CARDS])
    real = rt.price_pushes.push

    async def push_then_die(key: Any, updates: Any) -> Any:
        await real(key, updates)  # the marketplace has the prices now …
        raise RuntimeError("worker killed")  # … and the worker dies before it records them

    rt.price_pushes.push = push_then_die
    with pytest.raises(RuntimeError, match="worker killed"):
        await pricing.apply(rt, await _uzum_job(rt))
    async with rt.sessions() as session:
        open_rows = (await session.execute(select(PriceChange))).scalars().all()
    assert open_rows and {c.status for c in open_rows} == {"pushed"}
    sent = price_calls(world)
    assert sent > 0
    rt.price_pushes.push = real

    result = await pricing.apply(rt, await _uzum_job(rt))
    # Read back and recorded: every row confirmed, the listings hold the prices, and no price was sent
    # again (the retry found them on the marketplace and had nothing left to change).
    assert price_calls(world) == sent
    assert result["pushed"] == 0
    state = world.snapshot(Marketplace.UZUM, await account_key(rt, Marketplace.UZUM))
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(PriceChange, Listing, Product)
                .join(Listing, Listing.id == PriceChange.listing_id)
                .join(Product, Product.id == Listing.product_id)
            )
        ).all()
    assert rows and {c.status for c, _, _ in rows} == {"confirmed"}
    for change, listing, product in rows:
        assert listing.price == change.new_price == state[product.sku].price


async def test_an_unrecorded_push_the_marketplace_never_applied_ends_failed_and_is_decided_again(
    rt: Any, world: SandboxWorld
) -> None:
    await run(rt, [Capability.CARDS])
    await pricing.apply(rt, await _uzum_job(rt))
    stale = await _open_push(
        rt, 3, "sent by a worker that died, long ago", rt.now().replace(year=rt.now().year - 1)
    )
    await pricing.apply(rt, await _uzum_job(rt))
    async with rt.sessions() as session:
        row = await session.get(PriceChange, stale.id)
        open_rows = (
            await session.execute(select(func.count()).where(PriceChange.status.in_(("planned", "pushed"))))
        ).scalar_one()
    assert row.status == "failed" and "not applied" in (row.error or "")
    assert open_rows == 0


async def test_a_listing_another_job_is_still_sending_is_decided_after_a_short_wait_not_left_open(
    rt: Any, world: SandboxWorld
) -> None:
    # An urgent repricing and the run's own pricing job met on one listing: the other job's push was
    # still in flight. This job ended with that listing's task open (neither done nor failed).
    from aimanager.jobs import Snooze
    from aimanager.pipelines.capabilities.pricing import IN_FLIGHT_RECHECK_S

    await run(rt, [Capability.CARDS])
    await pricing.apply(rt, await _uzum_job(rt))
    sending = await _open_push(rt, 2, "being sent by another job right now", rt.now())
    job = await _uzum_job(rt)
    with pytest.raises(Snooze) as snoozed:
        await pricing.apply(rt, job)
    assert snoozed.value.delay == IN_FLIGHT_RECHECK_S
    assert snoozed.value.payload == {"marketplace": "uzum", "listing_ids": [sending.listing_id]}
    async with rt.sessions() as session:
        assert (await session.get(PriceChange, sending.id)).status == "pushed"  # left to its sender
