"""Two partners' worth of everything the API serves, plus one credential of each role.

``alpha`` and ``beta`` each get products, listings, card versions (two of one card, for diffs; one
pending approval), tasks, an alert, AI usage, an analytics report with its HTML page, and an Uzum
account whose token is a known secret. Keys and console users: admin, staff, and a partner one for
each. Every secret value is collected in ``World.secrets`` for the "nobody sees secrets" checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.alerts.tables import Alert
from aimanager.api.access import add_user, create_key
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import (
    AIUsageLog,
    AnalyticsReport,
    CardVersion,
    Listing,
    Partner,
    Product,
    TaskRecord,
)
from aimanager.pipelines.services.accounts import save_account

SECRET_KEY = "0" * 43 + "="  # a valid Fernet key for the tests' credential box
PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    id: int
    slug: str
    card_ids: list[int] = field(default_factory=list)
    report_id: int = 0
    token: str = ""  # the partner-role API key


@dataclass
class World:
    tenants: dict[str, Tenant]
    keys: dict[str, str]  # role → token
    secrets: list[str]

    @property
    def a(self) -> Tenant:
        return self.tenants["alpha"]

    @property
    def b(self) -> Tenant:
        return self.tenants["beta"]


async def _tenant(session: AsyncSession, box: CredentialBox, slug: str, tmp: Path, now: datetime) -> Tenant:
    partner = Partner(slug=slug, name=f"{slug.title()} LLC", ai_budget_usd=Decimal("10"))
    session.add(partner)
    await session.flush()
    t = Tenant(partner.id, slug)
    product = Product(partner_id=partner.id, sku=f"{slug.upper()}-SKU-1", name=f"{slug} kettle", stock=5)
    session.add(product)
    await session.flush()
    session.add(
        Listing(partner_id=partner.id, product_id=product.id, marketplace="uzum", price=Decimal("100000"))
    )
    for version, status, title in ((1, "validated", "Kettle"), (2, "pending_approval", "Kettle 2 l steel")):
        cv = CardVersion(
            partner_id=partner.id,
            product_id=product.id,
            marketplace="uzum",
            version=version,
            content={"title": f"{slug} {title}", "bullets": ["a", "b"]},
            status=status,
        )
        session.add(cv)
        await session.flush()
        t.card_ids.append(cv.id)
    for i, status in enumerate(("failed", "done", "needs_input")):
        session.add(
            TaskRecord(
                partner_id=partner.id,
                capability="cards",
                marketplace="uzum",
                sku=f"{slug.upper()}-SKU-{i}",
                status=status,
                reason=f"{slug} reason {i}" if status != "done" else None,
                updated_at=now - timedelta(minutes=i),
            )
        )
    session.add(
        Alert(
            rule="stock_low",
            partner_id=partner.id,
            dedup_key=f"stock_low:{slug}",
            severity="warning",
            message=f"{slug}: stock low",
            action="aimanager run -c stock",
            first_seen=now,
            last_seen=now,
        )
    )
    session.add(
        AIUsageLog(
            partner_id=partner.id,
            task_kind="cards",
            provider="offline",
            model="offline-1",
            path="realtime",
            input_tokens=100,
            output_tokens=50,
            cost_usd=Decimal("0.0123"),
            created_at=now - timedelta(hours=1),
        )
    )
    html = tmp / f"{slug}-report.html"
    html.write_text(f"<html><body>{slug} report</body></html>", encoding="utf-8")
    report = AnalyticsReport(
        partner_id=partner.id,
        period_start=now - timedelta(days=7),
        period_end=now,
        metrics={},
        narrative_ru="ok",
        html_path=str(html),
    )
    session.add(report)
    await session.flush()
    t.report_id = report.id
    await save_account(
        session,
        box,
        partner_id=partner.id,
        marketplace="uzum",
        credentials={"token": f"uzum-secret-token-{slug}"},
        settings={"shop_id": 4242},
    )
    return t


async def seed(sessions: async_sessionmaker[AsyncSession], tmp: Path) -> World:
    box = CredentialBox(SECRET_KEY.encode())
    now = datetime.now(UTC)
    tenants: dict[str, Tenant] = {}
    keys: dict[str, str] = {}
    async with sessions() as session, session.begin():
        for slug in ("alpha", "beta"):
            tenants[slug] = await _tenant(session, box, slug, tmp, now)
        for role in ("admin", "staff"):
            _, keys[role] = await create_key(session, f"{role}-key", role)
            await add_user(session, f"{role}-user", PASSWORD, role)
        for slug, t in tenants.items():
            _, t.token = await create_key(session, f"{slug}-key", "partner", slug)
            await add_user(session, f"{slug}-user", PASSWORD, "partner", slug, language="uz")
    secrets = [
        *keys.values(),
        *(t.token for t in tenants.values()),
        "uzum-secret-token-alpha",
        "uzum-secret-token-beta",
        "$argon2id$",
        PASSWORD,
    ]
    return World(tenants, keys, secrets)
