"""The review path in headless Chromium against the sandboxes: a partner connects its Wildberries
account from the console (tested live against the marketplace sandbox), cards run in review mode
(``autopilot.cards=false``), the partner approves a random sample on the review page, a worker pushes
them, and the sandbox's inspect endpoint (``/_sandbox/snapshot``) holds exactly the approved cards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select

from aimanager.api.access import add_user
from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import CardVersion, MarketplaceIntegration, Partner
from aimanager.domain.enums import Marketplace
from aimanager.jobs import SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.partner_settings import set_values
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners, demo_credentials
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from tests.api.live import LiveServer, live_server
from tests.api.seed import PASSWORD, SECRET_KEY
from tests.console.test_browser import WAIT_S, login, shot

pytestmark = pytest.mark.slow
WB = Marketplace.WILDBERRIES
SLUG = "partner-0001"  # generate_catalog's first partner
SKUS = 4


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


@pytest.fixture
def shop(world: SandboxWorld, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """A live server whose partner has a 4-SKU catalog, sandbox accounts on every marketplace but
    Wildberries (that one is seeded in the sandbox and connected from the console), review mode for
    cards, and a partner console user."""
    wb_settings: dict[str, Any] = {}

    async def extra(sessions: Any) -> None:
        report = await insert_catalog(sessions, generate_catalog(partners=1, skus=SKUS))
        assert report.ok, report.errors
        await connect_partners(world, sessions, CredentialBox(SECRET_KEY.encode()))
        async with sessions() as s, s.begin():
            partner = (await s.execute(select(Partner).where(Partner.slug == SLUG))).scalar_one()
            wb = (
                await s.execute(
                    select(MarketplaceIntegration).where(
                        MarketplaceIntegration.partner_id == partner.id,
                        MarketplaceIntegration.marketplace == WB.value,
                    )
                )
            ).scalar_one()
            wb_settings.update(wb.settings or {})
            await s.execute(delete(MarketplaceIntegration).where(MarketplaceIntegration.id == wb.id))
            await set_values(s, partner, ["autopilot.cards=false"], None)
            await add_user(s, "shop-user", PASSWORD, "partner", SLUG, language="ru")

    with live_server(tmp_path, extra=extra) as srv:
        yield srv, wb_settings


def work(srv: LiveServer, world: SandboxWorld, tmp: Path) -> None:
    """A worker over the server's database until the queue is idle (the product's pipelines, the LLM
    and marketplace sandboxes)."""

    async def body() -> None:
        settings = Settings(database_url=srv.database_url, secret_key=SecretStr(SECRET_KEY))
        engine = make_engine(srv.database_url)
        backend = SQLBackend(engine)
        await backend.setup()
        rt = await build_runtime(
            settings,
            backend=backend,
            gateway_config=world.gateway_config(),
            connector_overrides=world.connector_overrides(export_dir=tmp / "exports"),
            report_dir=tmp / "reports",
        )
        try:
            await Worker(backend, pipeline_registry(rt), WorkerConfig(concurrency=8)).run(until_idle=True)
        finally:
            await rt.aclose()
            await backend.close()
            await engine.dispose()

    asyncio.run(body())


async def _titles(url: str, refs: list[str]) -> dict[str, str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(CardVersion.id, CardVersion.content).where(
                        CardVersion.id.in_([int(r[1:]) for r in refs])
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {f"c{i}": content["variant"]["title"] for i, content in rows}


def test_connect_review_approve_a_sample_and_find_it_on_the_marketplace(
    shop: tuple[LiveServer, dict[str, Any]], world: SandboxWorld, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv, wb_settings = shop
    creds = demo_credentials(WB, SLUG)
    login(browser, srv, "shop-user")

    # 1. Connect Wildberries from the console: tested live against the sandbox, then listed healthy.
    browser.get(srv.url + f"/console/partners/{SLUG}")
    assert WB.value not in browser.find_element(By.ID, "accounts").text
    Select(browser.find_element(By.ID, "connect-marketplace")).select_by_visible_text(WB.value)
    browser.find_element(By.ID, "connect-credentials").send_keys(f"token={creds['token']}")
    lines = [f"{k}={v}" for k, v in {**wb_settings, "base_url": world.url(WB.value)}.items()]
    browser.find_element(By.ID, "connect-settings").send_keys("\n".join(lines))
    browser.find_element(By.ID, "connect-button").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: WB.value in d.find_element(By.ID, "accounts").text)
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#accounts tr") if WB.value in r.text)
    assert " ok" in f" {row.text}", row.text

    # 2. The operator runs cards for the partner; review mode holds them.
    admin = {"Authorization": f"Bearer {srv.world.keys['admin']}"}
    r = httpx.post(f"{srv.url}/v1/partners/{SLUG}/runs", json={"capabilities": ["cards"]}, headers=admin)
    assert r.status_code == 200, r.text
    work(srv, world, tmp_path)
    token = parse_credentials(WB, creds).account_key()
    assert all(s.title is None for s in world.snapshot(WB, token).values())  # nothing pushed yet

    # 3. The review page shows the four WB cards with diffs; approve a random sample of two.
    browser.get(srv.url + "/console/review?marketplace=wildberries")
    rows = browser.find_elements(By.CSS_SELECTOR, "#review tr[data-ref]")
    sku_of = {r.get_attribute("data-ref"): r.get_attribute("data-sku") for r in rows}
    assert len(sku_of) == SKUS, browser.find_element(By.ID, "review").text
    assert browser.find_elements(By.CSS_SELECTOR, "#review pre.diff span.add")
    shot(browser, "review")
    size = browser.find_element(By.ID, "sample-size")
    size.clear()
    size.send_keys("2")
    browser.find_element(By.ID, "approve-sample").click()
    result = WebDriverWait(browser, WAIT_S).until(
        lambda d: (
            d.find_element(By.ID, "review-result")
            if d.find_element(By.ID, "review-result").get_attribute("data-decided")
            else None
        )
    )
    approved = result.get_attribute("data-decided").split()
    assert len(approved) == 2 and set(approved) <= set(sku_of), result.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#review tr.decided")) == 2
    shot(browser, "review-approved")

    # 4. A worker pushes what was approved; the sandbox holds those two cards and not the others.
    work(srv, world, tmp_path)
    state = world.snapshot(WB, token)
    titles = asyncio.run(_titles(srv.database_url, list(sku_of)))
    for ref, sku in sku_of.items():
        if ref in approved:
            assert state[sku].title == titles[ref], (ref, sku, state[sku])
        else:
            # not approved: no card on the marketplace (the sandbox knows the offer only once a card
            # is uploaded), and certainly not this one
            assert sku not in state or state[sku].title is None, (ref, sku, state[sku])
    # The review queue lists only the two left.
    browser.get(srv.url + "/console/review?marketplace=wildberries")
    left = {
        r.get_attribute("data-ref") for r in browser.find_elements(By.CSS_SELECTOR, "#review tr[data-ref]")
    }
    assert left == set(sku_of) - set(approved)
