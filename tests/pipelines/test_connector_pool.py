"""The connector pool keeps at most ``max_open`` connectors, closes the ones it evicts, and holds the
marketplace's sockets in one shared pool however many accounts it serves (against the Ozon sandbox)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from aimanager.connectors.base import Connector
from aimanager.connectors.ozon import OzonConnector
from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import Partner
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.connector_pool import ConnectorPool
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_sandbox import ozon
from tests.connectors.conftest import SCALE, Running, start

OZ = Marketplace.OZON
ACCOUNTS = 12
MAX_OPEN = 4


@pytest.fixture
def oz() -> Iterator[Running]:
    yield from start(ozon.create_app)


def client_sockets(port: int) -> dict[str, int]:
    """TCP sockets of this host connected *to* ``port`` (the sandbox's clients), by state."""
    states = {"01": "ESTABLISHED", "08": "CLOSE_WAIT"}
    found: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                state = states.get(fields[3], fields[3])
                found[state] = found.get(state, 0) + 1
    return found


async def test_open_connectors_and_sockets_stay_bounded(oz: Running, sqlite_url: str, tmp_path: Path) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs /proc/net/tcp to count sockets")
    engine = make_engine(sqlite_url)
    box = CredentialBox.from_settings(
        Settings(
            database_url=sqlite_url, secret_key=SecretStr(generate_key()), secret_key_file=tmp_path / "k"
        )
    )
    port = int(oz.url.rsplit(":", 1)[1])
    await upgrade(engine)
    sessions = session_factory(engine)
    partners: list[int] = []
    async with sessions() as session, session.begin():
        for i in range(ACCOUNTS):
            partner = Partner(slug=f"p{i}", name=f"P{i}")
            session.add(partner)
            await session.flush()
            partners.append(partner.id)
            await save_account(
                session,
                box,
                partner_id=partner.id,
                marketplace=OZ,
                credentials={"client_id": str(61_000 + i), "api_key": f"key-{i}-0123456789"},
                settings={"warehouse_id": "22002"},
            )
    overrides = {OZ: {"base_url": oz.url, "settings": {"time_scale": SCALE, "timeout": 2.0}}}
    pool = ConnectorPool(sessions, box, overrides, max_open=MAX_OPEN)
    held: list[Connector] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for pid in partners:
                conn = await pool.get(pid, OZ)
                assert await conn.read_stocks(["SEED-001"])  # a real call over the shared pool
                held.append(conn)
                assert pool.open_count <= MAX_OPEN
            assert pool.evicted == ACCOUNTS - MAX_OPEN
            evicted = held[: ACCOUNTS - MAX_OPEN]
            assert all(isinstance(c, OzonConnector) and c.http.closed for c in evicted)
            assert not any(isinstance(c, OzonConnector) and c.http.closed for c in held[-MAX_OPEN:])
            # One pool for every account: sequential calls reuse one socket, not one per account.
            sockets = client_sockets(port)
            assert sum(sockets.values()) <= 2, sockets

            # An evicted account comes back as a new connector that works, evicting the oldest.
            again = await pool.get(partners[0], OZ)
            assert again is not held[0] and await again.read_stocks(["SEED-002"])
            assert pool.open_count == MAX_OPEN and held[-MAX_OPEN].http.closed  # type: ignore[attr-defined]
            # A handler that still held the evicted connector keeps working on the shared pool.
            assert await held[1].read_stocks(["SEED-003"])
            del evicted, held[:]
            gc.collect()
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    finally:
        await pool.aclose()
        await engine.dispose()
    assert pool.open_count == 0
