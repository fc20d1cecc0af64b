"""Orders from webhooks: the Ozon sandbox notifies a running ``aimanager serve`` app (a loopback
uvicorn) of each new and cancelled posting; a burst queues ONE ``orders.sync``; after a worker run the
order is reserved and every marketplace shows what the pool allows. A wrong token is a 404 and
queues nothing; the ping is answered as Ozon and Yandex Market expect.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from aimanager.api.app import create_app
from aimanager.api.tables import AuditEntry
from aimanager.db.engine import make_engine
from aimanager.db.models import MarketplaceIntegration, MarketplaceOrder, Product
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Job, JobStatus, SQLBackend
from aimanager.pipelines.capabilities.orders import ORDERS_KIND
from aimanager.pipelines.services import order_hooks
from aimanager.pipelines.services.order_hooks import HookTarget, hook_path, hook_secret, request_sync
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld
from tests.pipelines.orders_world import OrderDesks, connected_partner, drain, run_job
from tests.pipelines.test_orders_stock import published
from tests.test_cli_errors import cli

OZ, YM = Marketplace.OZON, Marketplace.YANDEX
WAIT_S = 30.0
STOCK = 400


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """``aimanager serve``'s app on a free loopback port, in a thread with its own event loop."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="hooks-api", daemon=True)
    thread.start()
    for _ in range(4000):  # uvicorn sets ``started`` once it listens
        if server.started:
            break
        thread.join(0.005)
    assert server.started, "the API server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


async def orders_jobs(rt: Any) -> list[Job]:
    return [j for j in await rt.backend.list_jobs(kind=ORDERS_KIND, limit=500)]


async def integration_id(rt: Any, market: Marketplace) -> int:
    async with rt.sessions() as session:
        q = select(MarketplaceIntegration.id).where(MarketplaceIntegration.marketplace == market.value)
        return int((await session.execute(q)).scalar_one())


async def wait_deliveries(client: httpx.AsyncClient, world: SandboxWorld, key: str, n: int) -> list[Any]:
    """The Ozon sandbox's deliveries once ``n`` were made (the sandbox sends them in the background)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        got = (await client.get(f"{world.url('ozon')}/_sandbox/orders/notify", params={"token": key})).json()
        if len(got["deliveries"]) >= n or time.monotonic() > deadline:
            return list(got["deliveries"])
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_an_ozon_burst_queues_one_sync_and_the_pool_follows(
    sqlite_url: str, tmp_path: Path, world: SandboxWorld
) -> None:
    rt, keys = await connected_partner(sqlite_url, tmp_path, world, skus=3, stock=STOCK)
    desks = OrderDesks(world, keys)
    client = httpx.AsyncClient(timeout=30, trust_env=False)
    try:
        await run_job(rt, "stock.sync")
        before = await published(rt)
        # Two units Ozon shows (the allocation may give it none of some SKU).
        units = [sku for sku, q in sorted(desks.shown(OZ).items()) for _ in range(q or 0)]
        assert len(units) >= 2, (desks.shown(OZ), before)
        sku_a, sku_b = units[0], units[1]
        secret = hook_secret(rt.settings)
        assert secret is not None
        oz_path = hook_path(secret, await integration_id(rt, OZ), OZ)
        ym_path = hook_path(secret, await integration_id(rt, YM), YM)
        with serving(rt.settings) as api:
            # Registering the URL: the sandbox pings it and keeps it only if answered as Ozon expects.
            reg = await client.post(
                f"{world.url('ozon')}/_sandbox/orders/notify", json={"token": keys[OZ], "url": api + oz_path}
            )
            assert reg.status_code == 200, reg.text
            assert reg.json()["ping"]["ok"] is True
            ping = (await client.post(api + oz_path, json={"message_type": "TYPE_PING", "time": "x"})).json()
            assert set(ping) == {"version", "name", "time"} and all(ping.values())
            ym_ping = await client.post(api + ym_path, json={"notificationType": "PING", "time": "x"})
            assert ym_ping.status_code == 200 and set(ym_ping.json()) == {"version", "name", "time"}
            assert await orders_jobs(rt) == []  # a ping reads nothing

            # Wrong tokens: 404, nothing queued, nothing in the audit trail that names the token.
            bad = oz_path[:-1] + ("0" if oz_path[-1] != "0" else "1")
            for path in (bad, "/hooks/ozon/1-abc", ym_path.replace("/yandex/", "/ozon/"), "/hooks/ozon/x"):
                answer = await client.post(api + path, json={"message_type": "TYPE_NEW_POSTING"})
                assert answer.status_code == 404, path
            assert await orders_jobs(rt) == []
            malformed = await client.post(api + oz_path, json={"posting_number": "1"})
            assert malformed.status_code == 400 and malformed.json()["error"]["code"]
            assert await orders_jobs(rt) == []

            # A burst: two postings and a cancellation → three notifications → one job.
            first = (await desks.place(OZ, sku_a))["order"]
            second = (await desks.place(OZ, sku_b))["order"]
            await desks.settle(OZ, second["id"], "cancelled")
            sent = await wait_deliveries(client, world, keys[OZ], 3)
            assert [d["type"] for d in sent] == [
                "TYPE_NEW_POSTING",
                "TYPE_NEW_POSTING",
                "TYPE_POSTING_CANCELLED",
            ]
            assert all(d["ok"] and d["status"] == 200 for d in sent), sent
            queued = await orders_jobs(rt)
            assert len(queued) == 1 and queued[0].status is JobStatus.QUEUED
            assert queued[0].payload == {"marketplaces": ["ozon"]}
            assert {m: desks.shown(m)[sku_a] for m in Marketplace if m is not OZ} == {
                m: before[(m, sku_a)] for m in Marketplace if m is not OZ
            }  # nothing moved yet: the worker has not run

            await drain(rt)  # orders.sync (Ozon's feed) → stock.sync of the changed products
            async with rt.sessions() as session:
                rows = (
                    await session.execute(
                        select(MarketplaceOrder.external_id, MarketplaceOrder.state).order_by(
                            MarketplaceOrder.id
                        )
                    )
                ).all()
            states = {ext.split("-")[0]: st for ext, st in rows}
            assert states == {str(first["id"]): "reserved", str(second["id"]): "released"}
            after = await published(rt)
            shown = {m: desks.shown(m)[sku_a] for m in Marketplace}
            assert shown == {m: after[(m, sku_a)] for m in Marketplace}  # the pushes landed
            assert sum(q or 0 for q in shown.values()) <= STOCK - 1
            # The intake queued the stock push of the ordered product, and it ran: all four
            # marketplaces show the allocation of the smaller pool (the split is exclusive, so the
            # others drop only when the re-split needs their units; here they never show more).
            async with rt.sessions() as session:
                pid = (await session.execute(select(Product.id).where(Product.sku == sku_a))).scalar_one()
            pushes = [
                j
                for j in await rt.backend.list_jobs(kind="stock.sync")
                if j.enqueued_at > queued[0].enqueued_at
            ]
            assert [j.status for j in pushes] == [JobStatus.SUCCEEDED]
            assert pid in pushes[0].payload["product_ids"]

            # After the job ran, the next notification is not swallowed: a new job.
            again = await client.post(api + oz_path, json={"message_type": "TYPE_STATE_CHANGED"})
            assert again.json() == {"result": True}
            jobs = await orders_jobs(rt)
            assert len(jobs) == 2 and jobs[0].status is JobStatus.QUEUED and jobs[0].id != queued[0].id
        async with rt.sessions() as session:
            targets = (await session.execute(select(AuditEntry.target))).scalars().all()
        assert targets and not any(oz_path.rsplit("/", 1)[1] in (t or "") for t in targets)
    finally:
        await client.aclose()
        await desks.aclose()
        await rt.aclose()
        await rt.engine.dispose()


async def test_notifications_coalesce_into_one_waiting_job_per_generation(db_url: str) -> None:
    engine = make_engine(db_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    target = HookTarget(partner_id=7, integration_id=3, marketplace=OZ)
    try:
        outcomes = [await request_sync(engine, backend, target) for _ in range(5)]
        assert [o.action for o in outcomes] == ["queued"] + ["coalesced"] * 4
        assert {o.job_id for o in outcomes} == {outcomes[0].job_id}
        # Another marketplace of the partner has its own job; a ping or a chat message queues nothing.
        ym = await request_sync(engine, backend, HookTarget(7, 4, YM))
        assert ym.action == "queued" and ym.job_id != outcomes[0].job_id
        assert (await order_hooks.notified(engine, backend, target, "TYPE_PING")).action == "ping"
        assert (
            await order_hooks.notified(engine, backend, target, "TYPE_CHAT_NEW_MESSAGE")
        ).action == "ignored"

        # The waiting job starts: the next notification may be newer than its read → a new job.
        claimed = await backend.claim("w1", 10, lease_s=30, kinds=[ORDERS_KIND])
        assert outcomes[0].job_id in {j.id for j in claimed}
        nxt = await request_sync(engine, backend, target)
        assert nxt.action == "queued" and nxt.job_id not in {outcomes[0].job_id, ym.job_id}
        assert (await request_sync(engine, backend, target)) == order_hooks.HookOutcome(
            "coalesced", nxt.job_id
        )
        # Cancelled by an operator: not waiting any more, so it no longer absorbs notifications.
        await backend.cancel([nxt.job_id or 0])
        last = await request_sync(engine, backend, target)
        assert last.action == "queued" and last.job_id != nxt.job_id
    finally:
        await backend.close()
        await engine.dispose()


async def test_tokens_name_one_active_integration_of_their_marketplace(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        secret_key=SecretStr(Fernet.generate_key().decode()),
    )
    secret = hook_secret(settings)
    assert secret is not None
    other = hook_secret(
        Settings(database_url=settings.database_url, secret_key=SecretStr(Fernet.generate_key().decode()))
    )
    path = hook_path(secret, 12, OZ)
    token = path.rsplit("/", 1)[1]
    assert path.startswith("/hooks/ozon/12-") and other is not None
    assert token != hook_path(other, 12, OZ).rsplit("/", 1)[1]  # a new secret key: new addresses
    assert token.split("-")[1] != hook_path(secret, 12, YM).rsplit("/", 1)[1].split("-")[1]
    with pytest.raises(Exception, match="sends no order notifications"):
        hook_path(secret, 12, Marketplace.WILDBERRIES)


def test_hook_url_command_shows_the_address_the_api_accepts(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "partners", "add", "acme", "--name", "Acme").returncode == 0
    connect = ["accounts", "connect", "-p", "acme", "-m", "ozon", "--no-test"]
    creds = ["--credential", "client_id=123456", "--credential", "api_key=ozon-key-0123456789"]
    assert cli(tmp_path, *connect, *creds).returncode == 0
    shown = cli(tmp_path, "accounts", "hook-url", "acme", "ozon", "--base-url", "https://seller.example/")
    assert shown.returncode == 0, shown.stderr
    secret = hook_secret(Settings(database_url="sqlite://", secret_key_file=tmp_path / ".aimanager.key"))
    assert secret is not None
    assert shown.stdout.strip() == "https://seller.example" + hook_path(secret, 1, OZ)
    # A marketplace that sends no notifications, an account that does not exist: one line each.
    wb = cli(tmp_path, "accounts", "hook-url", "acme", "wildberries")
    assert wb.returncode == 2 and "sends no order notifications" in wb.stderr and "Traceback" not in wb.stderr
    ym = cli(tmp_path, "accounts", "hook-url", "acme", "yandex")
    assert ym.returncode == 1 and "has no yandex account" in ym.stderr and "Traceback" not in ym.stderr
