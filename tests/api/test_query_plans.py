"""No list route or console page reads a big table whole: checked in PostgreSQL's own plans.

A database is filled at a reduced operator scale by the API bench's own filler (``api_fill``: 200
partners, 20,000 products, 80,000 listings, 81,600 card versions, 80,000 price changes, 50,000
tasks, 100,000 AI usage rows, 5,000 jobs — enough rows that PostgreSQL's planner prefers an index
wherever one serves, and more partners than a page shows) and ANALYZEd.
Then every list route and console page is called through the app as an operator would, every SQL
statement it runs is captured, and each one's ``EXPLAIN (FORMAT JSON)`` (with the same parameters)
must hold no ``Seq Scan`` of a big table. Plans, not timings: the check cannot be fooled by a fast
machine or failed by a slow one. A missing index, a filter no index serves, or a count of the whole
table makes it fail.

The one known exception is the engine's own ``stats()`` (a group-by over ``jobs``, which the engine
prunes to its retention period): ``ALLOWED`` names its statements, so anything else on ``jobs`` fails.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.api.access import add_user, create_key
from aimanager.api.app import create_app
from aimanager.db.engine import make_engine
from aimanager.db.models import CardVersion, Partner
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.bench.api_fill import fill_postgres
from tests.api.seed import PASSWORD, SECRET_KEY

BIG = {"tasks", "card_versions", "ai_usage_logs", "jobs", "price_changes", "listings", "products"}
# The engine's stats() (jobs/backends/sql/stats.py): aggregates over the retained jobs by design.
ALLOWED = (
    "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status",
    "SELECT priority, count(*), sum(CASE WHEN started_at > deadline",
)

API_ROUTES = [
    "/v1/partners?limit=50",
    "/v1/partners/{slug}",
    "/v1/tasks?limit=50",
    "/v1/tasks?limit=50&status=failed",
    "/v1/tasks?limit=50&status=skipped",
    "/v1/tasks?limit=50&partner={slug}",
    "/v1/tasks?limit=50&partner={slug}&status=failed",
    "/v1/tasks?limit=50&capability=cards&marketplace=ozon",
    "/v1/partners/{slug}/tasks/counts",
    "/v1/accounts?limit=50",
    "/v1/cards?limit=50",
    "/v1/cards?limit=50&status=pending_approval",
    "/v1/cards?limit=50&status=rejected",
    "/v1/cards?limit=50&partner={slug}",
    "/v1/cards/{card}/history",
    "/v1/review?limit=50",
    "/v1/review?limit=50&partner={slug}",
    "/v1/review?limit=50&capability=prices",
    "/v1/spend?group=day",
    "/v1/spend?group=partner",
    "/v1/spend?group=model",
    "/v1/spend?group=task_kind&partner={slug}",
    "/v1/spend/budgets?limit=50",
    "/v1/alerts",
    "/v1/reports?limit=50",
    "/v1/audit",
    "/v1/jobs?limit=50",
    "/v1/jobs/stats",
]
CONSOLE_PAGES = [
    "/console/",
    "/console/partners",
    "/console/partners/{slug}",
    "/console/partners/{slug}?status=failed",
    "/console/review",
    "/console/spend",
    "/console/alerts",
    "/console/reports",
]


@dataclass
class Loaded:
    engine: AsyncEngine
    url: str
    slug: str
    card: int


@pytest.fixture
async def loaded(pg_url: str) -> AsyncIterator[Loaded]:
    engine = make_engine(pg_url)
    await upgrade(engine)
    await fill_postgres(engine, partners=200, tasks=50_000, progress=lambda _: None, usage_per_partner=500)
    async with engine.connect() as conn:
        slug = (await conn.execute(select(Partner.slug).order_by(Partner.id).limit(1))).scalar_one()
        card = (await conn.execute(select(CardVersion.id).order_by(CardVersion.id).limit(1))).scalar_one()
    try:
        yield Loaded(engine, pg_url, slug, card)
    finally:
        await engine.dispose()


def seq_scans(plan: Any) -> Iterator[str]:
    """The relations a plan (EXPLAIN's JSON) reads by sequential scan."""
    if isinstance(plan, list):
        for p in plan:
            yield from seq_scans(p)
    elif isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan":
            yield str(plan.get("Relation Name"))
        for value in plan.values():
            if isinstance(value, (list, dict)):
                yield from seq_scans(value)


async def test_list_routes_and_console_pages_use_indexes(loaded: Loaded, tmp_path: Path) -> None:
    statements: list[tuple[str, str, Any]] = []
    route = ""

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many and "SELECT" in statement.upper():
            statements.append((route, statement, parameters))

    settings = Settings(database_url=loaded.url, secret_key=SecretStr(SECRET_KEY))
    app = create_app(engine=loaded.engine, settings=settings)
    async with app.router.lifespan_context(app):
        async with app.state.aim.sessions() as s, s.begin():
            _, token = await create_key(s, "plans", "admin")
            await add_user(s, "plans-admin", PASSWORD, "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            login = await client.post("/console/login", data={"login": "plans-admin", "password": PASSWORD})
            assert login.status_code == 303
            event.listen(loaded.engine.sync_engine, "before_cursor_execute", capture)
            try:
                seen: dict[str, int] = {}
                for template in API_ROUTES + CONSOLE_PAGES:
                    route = path = template.format(slug=loaded.slug, card=loaded.card)
                    before = len(statements)
                    headers = {"Authorization": f"Bearer {token}"} if path.startswith("/v1") else {}
                    r = await client.get(path, headers=headers)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                    seen[path] = len(statements) - before
            finally:
                event.remove(loaded.engine.sync_engine, "before_cursor_execute", capture)
    assert all(seen.values()), f"a route ran no query: {seen}"
    problems = []
    async with loaded.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for path, statement, params in statements:
            if statement.lstrip().startswith(ALLOWED):
                continue
            args = list(params or ())
            plan = await raw.fetchval("EXPLAIN (FORMAT JSON) " + statement, *args)
            plan = json.loads(plan) if isinstance(plan, str) else plan  # SQLAlchemy's codec decodes it
            scanned = sorted(set(seq_scans(plan)) & BIG)
            if scanned:
                problems.append(f"{path}: Seq Scan on {scanned}: {' '.join(statement.split())[:200]}")
    assert not problems, "\n".join(dict.fromkeys(problems))
