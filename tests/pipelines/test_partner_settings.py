"""Per-partner settings: validated (the bad key named), merged over the operator's defaults, stored by
command, and used by the pipelines — pricing bounds and margin, the gateway's monthly budget, card
languages."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from aimanager.db.engine import make_engine
from aimanager.db.models import Listing, Partner, PriceChange, Product, TaskRecord
from aimanager.domain.enums import Marketplace
from aimanager.domain.partner_settings import PartnerSettingsError, build, is_large_move, parse_assignments
from aimanager.jobs import JobSpec, SQLBackend
from aimanager.llm import GatewayConfig
from aimanager.llm.accounting import Budgets
from aimanager.llm.errors import BudgetExceeded
from aimanager.pipelines.capabilities import cards, pricing
from aimanager.pipelines.services.partner_settings import (
    SettingsInvalid,
    describe,
    set_values,
    settings_for,
    stock_buffer_factor,
    unset_values,
)
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import SandboxConfig, SandboxState, create_app


# -- the model -------------------------------------------------------------------------------------
def test_defaults_operator_layer_and_partner_layer_merge_key_by_key() -> None:
    s = build({"margin_target_pct": "12", "autopilot": {"cards": False}}, {"autopilot": {"prices": False}})
    assert s.margin_target_pct == Decimal(12) and s.max_step_pct == Decimal(10)
    assert (s.autopilot.cards, s.autopilot.prices) == (False, False)
    assert s.languages == ("ru", "uz") and s.timezone == "Asia/Tashkent"
    assert build({"languages": "uz,ru"}).languages == ("ru", "uz")  # one canonical order


@pytest.mark.parametrize(
    ("layer", "key", "words"),
    [
        ({"margin_tarket_pct": 5}, "margin_tarket_pct", "no such setting"),
        ({"autopilot": {"card": False}}, "autopilot.card", "no such setting"),
        ({"margin_target_pct": "-1"}, "margin_target_pct", "greater than or equal"),
        ({"languages": "uz"}, "languages", "must include ru"),
        ({"languages": "ru,en"}, "languages", "ru"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"min_price": "100", "max_price": "50"}, "settings", "above max_price"),
        ({"max_step_pct": "0"}, "max_step_pct", "greater than"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_it(layer: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(PartnerSettingsError) as info:
        build(layer)
    assert info.value.key == key and words in str(info.value)


def test_assignments_are_typed_by_key() -> None:
    layer = parse_assignments(
        ["autopilot.cards=off", "max_changes_per_day=3", "min_price=1 000", "languages=ru"]
    )
    assert layer == {
        "autopilot": {"cards": False},
        "max_changes_per_day": 3,
        "min_price": Decimal(1000),
        "languages": "ru",
    }
    for bad in ("margin_target_pct=lots", "autopilot.cards=maybe", "nokey", "max_changes_per_day=1.5"):
        with pytest.raises(PartnerSettingsError):
            parse_assignments([bad])
    assert is_large_move(Decimal(100), Decimal(116), Decimal(15)) and not is_large_move(
        Decimal(100), Decimal(115), Decimal(15)
    )
    assert is_large_move(None, Decimal(5), Decimal(15))  # a first price is never small


# -- stored and read -------------------------------------------------------------------------------
@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'settings.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    settings = Settings(
        database_url=url, secret_key_file=tmp_path / "key", partner_defaults={"margin_target_pct": 20}
    )
    rt = await build_runtime(settings, backend=backend, dry_run=True)
    report = await insert_catalog(rt.sessions, generate_catalog(partners=1, skus=3))
    assert report.ok, report.errors
    yield rt
    await rt.aclose()
    await backend.close()
    await engine.dispose()


async def _partner(session: Any) -> Partner:
    row: Partner = (await session.execute(select(Partner))).scalar_one()
    return row


async def test_set_show_unset_round_trip_with_column_backed_keys(store: Any) -> None:
    async with store.sessions() as session, session.begin():
        partner = await _partner(session)
        await set_values(
            session,
            partner,
            [
                "max_price=900000",
                "ai_budget_usd_month=0.001",
                "timezone=Asia/Samarkand",
                "autopilot.prices=false",
            ],
            store.settings,
        )
        with pytest.raises(SettingsInvalid, match="timezone"):
            await set_values(session, partner, ["timezone=Nowhere/Land", "max_step_pct=5"], store.settings)
    async with store.sessions() as session:
        partner = await _partner(session)
        assert partner.ai_budget_usd == Decimal("0.001") and partner.timezone == "Asia/Samarkand"
        assert partner.settings == {
            "max_price": "900000",
            "autopilot": {"prices": False},
        }  # max_step_pct not kept
        shown = {s.key: (s.value, s.source) for s in describe(partner, store.settings)}
        assert shown["margin_target_pct"] == ("20", "operator")
        assert shown["max_price"] == ("900000", "partner")
        assert shown["autopilot.prices"] == (False, "partner") and shown["autopilot.cards"] == (
            True,
            "default",
        )
        assert await stock_buffer_factor(session, partner.id, store.settings) == Decimal("1.5")
    # The LLM gateway's budgets read the same column: the partner is stopped at its cap.
    budgets = Budgets(store.engine)
    with pytest.raises(BudgetExceeded):
        await budgets.reserve(partner.id, Decimal("0.01"))
    async with store.sessions() as session, session.begin():
        partner = await _partner(session)
        await unset_values(
            session, partner, ["ai_budget_usd_month", "timezone", "autopilot.prices"], store.settings
        )
    async with store.sessions() as session:
        partner = await _partner(session)
        assert partner.ai_budget_usd is None and partner.timezone == "Asia/Tashkent"
        assert partner.settings == {"max_price": "900000"}


async def test_pricing_takes_margin_and_bounds_from_the_partner_and_the_listing_wins(store: Any) -> None:
    async with store.sessions() as session, session.begin():
        partner = await _partner(session)
        await set_values(session, partner, ["margin_target_pct=40", "max_step_pct=100"], store.settings)
        listings = (
            (await session.execute(select(Listing).where(Listing.marketplace == "uzum").order_by(Listing.id)))
            .scalars()
            .all()
        )
        for li in listings:
            li.min_margin_pct, li.price, li.competitor_price = None, None, None
        listings[0].min_margin_pct = Decimal(5)  # the listing's own margin wins over the partner's
        pid, first = partner.id, listings[0].id
    await store.backend.enqueue_many([JobSpec("pricing.apply", {"marketplace": "uzum"}, partner_id=pid)])
    [job] = await store.backend.claim("w", 1, lease_s=60, kinds=["pricing.apply"])
    await pricing.apply(store, job)
    async with store.sessions() as session:
        rows = (
            await session.execute(
                select(PriceChange, Listing, Product)
                .join(Listing, Listing.id == PriceChange.listing_id)
                .join(Product, Product.id == Listing.product_id)
            )
        ).all()
    assert len(rows) == 3
    for change, listing, product in rows:
        margin = Decimal(5) if listing.id == first else Decimal(40)
        costs = product.cost_price + (listing.logistics_cost or Decimal(0))
        expected = costs / (1 - (listing.commission_pct or Decimal(0)) / 100 - margin / 100)
        assert abs(change.floor - expected) <= 1, (listing.id, change.floor, expected)
        assert change.status == "planned" and change.error  # a dry run's decisions, marked never sent
    # A maximum below those floors: the floor wins and says so; the bound is the partner's.
    async with store.sessions() as session, session.begin():
        await set_values(session, await _partner(session), ["max_price=1000"], store.settings)
        prefs = (await settings_for(session, [pid], store.settings))[pid]
    assert prefs.max_price == Decimal(1000) and prefs.margin_target_pct == Decimal(40)


# -- languages -------------------------------------------------------------------------------------
@pytest.fixture
def llm() -> Iterator[tuple[str, SandboxState]]:
    config = SandboxConfig(time_scale=0.001, rpm=None, itpm=None, otpm=None)
    for name in dir(config):
        if name.endswith("_rate") and isinstance(getattr(config, name), float):
            setattr(config, name, 0.0)
    app = create_app(config)
    with BackgroundServer(app) as server:
        yield server.base_url, app.state.sandbox


async def test_languages_without_uzbek_skip_the_marketplaces_that_need_it(
    llm: tuple[str, SandboxState], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cards.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    gateway = GatewayConfig(provider="anthropic", anthropic_api_key="sk-ant-test", anthropic_base_url=llm[0])
    rt = await build_runtime(
        Settings(database_url=url, secret_key_file=tmp_path / "k"), backend=backend, gateway_config=gateway
    )
    try:
        markets = [Marketplace.WILDBERRIES, Marketplace.UZUM]
        assert (
            await insert_catalog(rt.sessions, generate_catalog(partners=1, skus=2, marketplaces=markets))
        ).ok
        async with rt.sessions() as session, session.begin():
            partner = await _partner(session)
            await set_values(session, partner, ["languages=ru"], rt.settings)
            ids = sorted((await session.execute(select(Product.id))).scalars())
        await rt.backend.enqueue_many(
            [JobSpec("cards.generate", {"product_ids": ids}, partner_id=partner.id)]
        )
        [job] = await rt.backend.claim("w", 1, lease_s=60, kinds=["cards.generate"])
        assert await cards.generate(rt, [job]) is None
        async with rt.sessions() as session:
            tasks = {(t.marketplace, t.status) for t in (await session.execute(select(TaskRecord))).scalars()}
            from aimanager.db.models import CardVersion

            made = {cv.marketplace for cv in (await session.execute(select(CardVersion))).scalars()}
        assert made == {"wildberries"}
        assert tasks == {("uzum", "skipped")}
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()


# -- the command -----------------------------------------------------------------------------------
def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIMANAGER_DATABASE_URL": f"sqlite:///{cwd / 'aim.db'}"}
    env.pop("AIMANAGER_PARTNER_DEFAULTS", None)
    return subprocess.run(
        [sys.executable, "-m", "aimanager", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_settings_command_sets_shows_and_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'aim.db'}")
    async with engine.begin() as conn:
        await conn.execute(insert(Partner).values(slug="acme", name="Acme", settings={}))
    await engine.dispose()
    ok = cli(tmp_path, "settings", "set", "acme", "margin_target_pct=15", "autopilot.cards=false")
    assert ok.returncode == 0, ok.stderr
    shown = cli(tmp_path, "settings", "show", "acme", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"margin_target_pct": "15"' in shown.stdout and '"autopilot.cards": false' in shown.stdout
    for args, needle in [
        (("settings", "set", "acme", "margin_tarket=1"), "margin_tarket"),
        (("settings", "set", "acme", "languages=uz"), "languages"),
        (("settings", "unset", "acme", "nope"), "nope"),
    ]:
        res = cli(tmp_path, *args)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode == 2 and len(lines) == 1 and needle in lines[0], res.stderr
    missing = cli(tmp_path, "settings", "show", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
    assert cli(tmp_path, "settings", "unset", "acme", "autopilot.cards").returncode == 0
    assert '"autopilot.cards": true' in cli(tmp_path, "settings", "show", "acme", "--json").stdout
