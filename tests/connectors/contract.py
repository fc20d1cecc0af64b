"""The connector contract: the same checks for every marketplace, against its sandbox over HTTP.

To add a marketplace, append a ``ContractEntry`` to ``ENTRIES`` (``test_contract.py`` collects the
tests). ``credentials(secret)`` must put ``secret`` where the sandbox checks it (``valid_tokens``); the
sandbox account those credentials open is the one the credentials model names (``account_key()``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import structlog

from aimanager.connectors.base import Connector, PriceUpdate, StockUpdate
from aimanager.connectors.config import MarketplaceAccount
from aimanager.connectors.errors import AuthError
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces import SANDBOXES
from tests.connectors.conftest import Running, settings, start

_serial = itertools.count(70_000)


@dataclass(frozen=True)
class ContractEntry:
    """How to run the contract against one marketplace's connector and sandbox."""

    marketplace: Marketplace
    credentials: Callable[[str], dict[str, str]]
    seeded_offers: tuple[str, ...]
    history: tuple[date, date] = (date(2026, 10, 1), date(2026, 10, 31))
    settings: dict[str, Any] = field(default_factory=dict)
    sandbox_config: dict[str, Any] = field(default_factory=dict)
    sandbox_factory: Callable[..., Any] | None = None  # default: SANDBOXES[marketplace]

    def factory(self) -> Callable[..., Any]:
        return self.sandbox_factory or SANDBOXES[self.marketplace]


ENTRIES: list[ContractEntry] = [
    ContractEntry(
        marketplace=Marketplace.WILDBERRIES,
        credentials=lambda secret: {"token": secret},
        seeded_offers=("SEED-001", "SEED-002", "SEED-003"),
    ),
    ContractEntry(
        marketplace=Marketplace.OZON,
        credentials=lambda secret: {"client_id": str(next(_serial)), "api_key": secret},
        seeded_offers=("SEED-001", "SEED-002", "SEED-003"),
    ),
    ContractEntry(
        marketplace=Marketplace.YANDEX,
        credentials=lambda secret: {"api_key": secret},
        seeded_offers=("YM-000", "YM-001", "YM-002"),
        settings={"business_id": 111, "campaign_id": 222},
        sandbox_config={"extra": {"business_id": 111, "campaign_id": 222}},
    ),
    ContractEntry(
        marketplace=Marketplace.UZUM,
        credentials=lambda secret: {"token": secret},
        seeded_offers=("UZ-0000", "UZ-0001", "UZ-0002"),
        settings={"shop_id": 4242},
        sandbox_config={"extra": {"shop_id": 4242}},
    ),
]

SECRET = "contract-secret-0f9e8d7c6b5a"


@pytest.fixture(params=ENTRIES, ids=lambda e: e.marketplace.value)
def entry(request: pytest.FixtureRequest) -> ContractEntry:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def running(entry: ContractEntry) -> Iterator[Running]:
    yield from start(entry.factory(), valid_tokens={SECRET}, **entry.sandbox_config)


def _connect(
    entry: ContractEntry, running: Running, secret: str = SECRET
) -> tuple[Connector, MarketplaceAccount]:
    account = parse_account(entry.marketplace, entry.credentials(secret), settings(**entry.settings))
    return make_connector(account, running.url), account


async def test_connector_satisfies_protocol(entry: ContractEntry, running: Running) -> None:
    conn, _ = _connect(entry, running)
    try:
        assert isinstance(conn, Connector)
        assert conn.marketplace is entry.marketplace
        assert SECRET not in repr(conn) and SECRET not in str(conn)
    finally:
        await conn.aclose()


async def test_stock_round_trip(entry: ContractEntry, running: Running) -> None:
    conn, account = _connect(entry, running)
    wanted = {offer: 3 + n for n, offer in enumerate(entry.seeded_offers)}
    try:
        report = await conn.update_stocks([StockUpdate(offer_id=o, quantity=q) for o, q in wanted.items()])
        levels = await conn.read_stocks(list(wanted))
    finally:
        await conn.aclose()
    assert report.ok and sorted(report.accepted) == sorted(wanted)
    assert {lv.offer_id: lv.quantity for lv in levels} == wanted
    # State is kept per seller account, the one the credentials name.
    assert running.sandbox.has_account(account.credentials.account_key())
    assert running.sandbox.rejections() == 0


async def test_prices_accepted_and_per_item_errors(entry: ContractEntry, running: Running) -> None:
    conn, _ = _connect(entry, running)
    prices = [PriceUpdate(offer_id=o, price=Decimal(5000 + n)) for n, o in enumerate(entry.seeded_offers)]
    try:
        report = await conn.update_prices([*prices, PriceUpdate(offer_id="NO-SUCH-OFFER", price=Decimal(10))])
        if report.tasks:
            statuses = [await conn.wait_task(t) for t in report.tasks]
            report = report.with_statuses(statuses)
    finally:
        await conn.aclose()
    assert sorted(report.accepted) == sorted(entry.seeded_offers)
    assert [e.offer_id for e in report.failed] == ["NO-SUCH-OFFER"]
    assert running.sandbox.rejections() == 0


async def test_orders_in_window(entry: ContractEntry, running: Running) -> None:
    conn, _ = _connect(entry, running)
    start_day, end_day = entry.history
    try:
        records = await conn.read_orders(start_day, end_day)
    finally:
        await conn.aclose()
    assert records
    low = datetime.combine(start_day, datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(end_day, datetime.max.time(), tzinfo=UTC)
    for r in records:
        assert r.date.tzinfo is not None and low <= r.date <= high
        assert isinstance(r.revenue, Decimal) and isinstance(r.commission, Decimal) and r.quantity > 0
    assert running.sandbox.rejections() == 0


async def test_bad_credentials_raise_auth_error_without_leaking(
    entry: ContractEntry, running: Running
) -> None:
    wrong = SECRET[::-1]
    conn, _ = _connect(entry, running, secret=wrong)
    try:
        with pytest.raises(AuthError) as info:
            await conn.read_stocks(list(entry.seeded_offers))
    finally:
        await conn.aclose()
    assert info.value.status in (401, 403)
    for text in (str(info.value), repr(info.value), str(info.value.body)):
        assert wrong not in text and SECRET not in text


async def test_credentials_never_in_logs(
    entry: ContractEntry,
    running: Running,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    running.sandbox.config.faults.next_errors = 1  # a retry path logs too
    with structlog.testing.capture_logs() as events:
        conn, _ = _connect(entry, running)
        try:
            await conn.update_stocks([StockUpdate(offer_id=o, quantity=1) for o in entry.seeded_offers])
            await conn.read_stocks(list(entry.seeded_offers))
        finally:
            await conn.aclose()
        bad, _ = _connect(entry, running, secret=SECRET[::-1])
        try:
            with pytest.raises(AuthError):
                await bad.read_stocks(list(entry.seeded_offers))
        finally:
            await bad.aclose()
    assert events
    texts = [str(e) for e in events] + [r.getMessage() for r in caplog.records] + list(capsys.readouterr())
    for text in texts:
        assert SECRET not in text and SECRET[::-1] not in text
