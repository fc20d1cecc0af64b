"""Fill a PostgreSQL database at an operator's full size for the API bench, in a few minutes.

Sizes follow the product's own shape (ARCHITECTURE §1): ``partners`` partners × 100 SKUs × 4
marketplaces. With the defaults (1,000 partners, 1 M tasks) that is

* 100,000 products and 400,000 listings;
* 408,000 card versions: one live (pushed) version per listing, and for 2 % of them a second
  version waiting for approval (the review queue: 8,000 cards);
* 400,000 price changes (a month of repricing, one move per listing), 0.5 % waiting for approval;
* ``tasks`` task rows spread over the last 30 days (97 % done, 2 % failed, 1 % needs input);
* 2,000,000 ``ai_usage_logs`` rows: a month of the ledger, ~67 rows per partner per day (cache hits
  are rows too: a daily cards run over an unchanged catalog is ~100 of them);
* 100,000 jobs of the last 7 days (the engine prunes older ones), 500 of them still queued;
* 200 active alerts.

Every table is filled by one server-side ``INSERT … SELECT … FROM generate_series`` (no rows cross
the wire, so a million tasks take seconds, not the minutes client-side inserts take), each skipped
when the table already holds its rows, then ``ANALYZE``. Rows are deterministic functions of the
series number, so a refill is the same database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SKUS_PER_PARTNER = 100
USAGE_ROWS_PER_PARTNER = 2_000
JOBS_PER_PARTNER = 100
MARKETS = "ARRAY['uzum','wildberries','ozon','yandex']"


def sizes(partners: int, tasks: int, usage_per_partner: int = USAGE_ROWS_PER_PARTNER) -> dict[str, int]:
    listings = partners * SKUS_PER_PARTNER * 4
    return {
        "partners": partners,
        "products": partners * SKUS_PER_PARTNER,
        "listings": listings,
        "card_versions": listings + listings // 50,
        "price_changes": listings,
        "tasks": tasks,
        "ai_usage_logs": partners * usage_per_partner,
        "jobs": partners * JOBS_PER_PARTNER * usage_per_partner // USAGE_ROWS_PER_PARTNER,
        "alerts": min(200, partners),
    }


# Each statement inserts the rows numbered [:lo, :hi) of its table; {P} is the partner count.
STATEMENTS: dict[str, str] = {
    "partners": """
        INSERT INTO partners (slug, name, is_active, ai_budget_usd, ai_budget_warn_ratio, timezone, settings,
                              created_at)
        SELECT 'bench-' || n, 'Bench ' || n, true, CASE WHEN n % 4 = 0 THEN 50 END, 0.8, 'Asia/Tashkent',
               CASE WHEN n % 10 = 0 THEN '{"autopilot": {"cards": false}}'::jsonb ELSE '{}'::jsonb END,
               now() - interval '90 days'
        FROM generate_series(:lo, :hi - 1) n""",
    "products": """
        INSERT INTO products (partner_id, sku, name, brand, category, attributes, images, cost_price, currency,
                              stock, is_active, facts_hash, created_at, updated_at)
        SELECT p.id, 'SKU-' || s, 'Product ' || s || ' of ' || p.slug, 'Brand', 'Category ' || (s % 20),
               '{"color": "black"}'::jsonb, '[]'::jsonb, 10000 + s, 'UZS', s % 50, true, md5(p.slug || s),
               now() - interval '60 days', now() - interval '1 day'
        FROM (SELECT id, slug FROM partners ORDER BY id OFFSET :lo LIMIT :hi - :lo) p,
             generate_series(0, {S} - 1) s""",
    "listings": """
        INSERT INTO listings (partner_id, product_id, marketplace, external_id, external_sku, price,
                              commission_pct, logistics_cost, min_margin_pct, status, updated_at)
        SELECT pr.partner_id, pr.id, m, 'ext-' || pr.id || '-' || m, pr.sku, 20000 + pr.id % 1000, 15, 3000,
               10, 'live', now() - interval '1 day'
        FROM (SELECT id, partner_id, sku FROM products ORDER BY id OFFSET :lo / 4 LIMIT (:hi - :lo) / 4) pr,
             unnest({M}) m""",
    "card_versions": """
        INSERT INTO card_versions (partner_id, product_id, marketplace, version, content, model, prompt_version,
                                   input_hash, status, validation_errors, created_at, pushed_at)
        SELECT l.partner_id, l.product_id, l.marketplace, v, jsonb_build_object(
                 'variant', jsonb_build_object(
                   'title', 'Bench product ' || l.product_id || ' v' || v,
                   'description', repeat('Описание товара для маркетплейса. ', 12),
                   'description_uz', repeat('Mahsulot tavsifi. ', 20),
                   'bullets', jsonb_build_array('Bullet one', 'Bullet two', 'Bullet three'),
                   'keywords', jsonb_build_array('bench', 'product'))),
               'offline', 'v1', md5(l.id || '-' || v), CASE WHEN v = 1 THEN 'pushed' ELSE 'pending_approval' END,
               '[]'::jsonb, now() - (v * interval '1 day') - (l.id % 1000) * interval '1 minute',
               CASE WHEN v = 1 THEN now() - interval '1 day' END
        FROM (SELECT * FROM listings ORDER BY id OFFSET :lo LIMIT :hi - :lo) l,
             LATERAL (SELECT 1 AS v UNION ALL SELECT 2 WHERE l.id % 50 = 0) versions""",
    "price_changes": """
        INSERT INTO price_changes (partner_id, listing_id, old_price, new_price, floor, reason, status,
                                   created_at, pushed_at, confirmed_at)
        SELECT l.partner_id, l.id, l.price, l.price + 500, l.price - 2000, 'competitor moved; within budget',
               CASE WHEN l.id % 200 = 0 THEN 'pending_approval' ELSE 'confirmed' END,
               now() - (l.id % 43200) * interval '1 minute', now() - interval '1 hour', now() - interval '1 hour'
        FROM (SELECT id, partner_id, price FROM listings ORDER BY id OFFSET :lo LIMIT :hi - :lo) l""",
    "tasks": """
        INSERT INTO tasks (partner_id, capability, marketplace, sku, status, reason, job_id, updated_at)
        SELECT p.ids[1 + n % {P}], (ARRAY['cards','pricing','stock'])[1 + (n / {P}) % 3],
               ({M})[1 + (n / {P} / 3) % 4], 'SKU-' || (n / {P} / 12),
               CASE WHEN n % 100 < 2 THEN 'failed' WHEN n % 100 < 3 THEN 'needs_input' ELSE 'done' END,
               CASE WHEN n % 100 < 3 THEN 'bench reason' END, NULL,
               now() - (n::float8 * 2592000 / :total) * interval '1 second'
        FROM (SELECT array_agg(id ORDER BY id) ids FROM partners) p, generate_series(:lo, :hi - 1) n""",
    "ai_usage_logs": """
        INSERT INTO ai_usage_logs (partner_id, task_kind, provider, model, path, input_tokens, output_tokens,
                                   cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, outcome, items,
                                   created_at)
        SELECT p.ids[1 + n % {P}], (ARRAY['cards','cards','cards','analytics','images'])[1 + n % 5],
               'anthropic', (ARRAY['claude-haiku-4-5','claude-sonnet-4-5'])[1 + (n / 7) % 2],
               CASE WHEN n % 3 = 0 THEN 'cache' WHEN n % 3 = 1 THEN 'realtime' ELSE 'batch' END,
               CASE WHEN n % 3 = 0 THEN 0 ELSE 3000 END, CASE WHEN n % 3 = 0 THEN 0 ELSE 1200 END, 0, 0,
               CASE WHEN n % 3 = 0 THEN 0 ELSE 0.0042 END, 900, 'ok', 20,
               now() - (n::float8 * 2592000 / :total) * interval '1 second'
        FROM (SELECT array_agg(id ORDER BY id) ids FROM partners) p, generate_series(:lo, :hi - 1) n""",
    "jobs": """
        INSERT INTO jobs (kind, partner_id, batch_key, payload, priority, status, enqueued_at, run_at, deadline,
                          started_at, finished_at, attempts, crashes, max_attempts, queue_wait_ms, run_ms)
        SELECT (ARRAY['cards.generate','cards.push','pricing.apply','stock.sync'])[1 + n % 4],
               p.ids[1 + n % {P}], 'p' || p.ids[1 + n % {P}] || ':bench:' || n % 4, '{}', n % 4,
               CASE WHEN n < 500 THEN 'queued' WHEN n % 100 = 0 THEN 'dead' ELSE 'succeeded' END,
               t, t, t + 30, CASE WHEN n >= 500 THEN t + 1 END, CASE WHEN n >= 500 THEN t + 3 END,
               CASE WHEN n < 500 THEN 0 ELSE 1 END, 0, 3,
               CASE WHEN n >= 500 THEN 1000 END, CASE WHEN n >= 500 THEN 2000 END
        FROM (SELECT array_agg(id ORDER BY id) ids FROM partners) p, generate_series(:lo, :hi - 1) n,
             LATERAL (SELECT extract(epoch FROM now()) - n::float8 * 604800 / :total AS t) ts""",
    "alerts": """
        INSERT INTO alerts (rule, partner_id, dedup_key, severity, message, action, status, first_seen,
                            last_seen, count)
        SELECT 'account_failing', p.ids[1 + n % {P}], 'bench:' || n, 'warning', 'bench alert ' || n,
               'aimanager accounts test', 'active', now() - interval '2 hours', now(), 3
        FROM (SELECT array_agg(id ORDER BY id) ids FROM partners) p, generate_series(:lo, :hi - 1) n""",
}
# Rows per INSERT: small enough that progress shows and one statement never holds a minute of WAL.
CHUNKS = {"partners": 1_000, "products": 1_000, "listings": 100_000, "card_versions": 50_000}
DEFAULT_CHUNK = 250_000


def _inline(sql: str, **bounds: int) -> str:
    return re.sub(r"(?<!:):(lo|hi|total)\b", lambda m: str(bounds[m[1]]), sql)


async def _count(engine: AsyncEngine, table: str, cap: int) -> int:
    """Rows in ``table``, counted up to ``cap`` (an exact count of a full table would scan it)."""
    async with engine.connect() as conn:
        n = await conn.scalar(
            text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :cap) s"), {"cap": cap}
        )
    return int(n or 0)


async def fill_postgres(
    engine: AsyncEngine,
    partners: int,
    tasks: int,
    progress: Callable[[str], Any] = print,
    *,
    usage_per_partner: int = USAGE_ROWS_PER_PARTNER,
) -> dict[str, int]:
    """Fill every table up to :func:`sizes`; returns the sizes. Tables already full are left alone.
    ``usage_per_partner`` (ledger rows; jobs in proportion) lets a test fill a smaller month."""
    want = sizes(partners, tasks, usage_per_partner)
    for table, total in want.items():
        units = {"products": partners, "partners": partners}.get(table, total)
        have = await _count(engine, table, total)
        if have >= total:
            continue
        # products are inserted per partner (100 each): the series counts partners, not rows.
        lo = have // SKUS_PER_PARTNER if table == "products" else have
        if table == "listings":
            lo -= lo % 4
        elif table == "card_versions":
            lo = await _count(engine, "card_versions WHERE version = 1", total)
        t0 = time.perf_counter()
        chunk = CHUNKS.get(table, DEFAULT_CHUNK)
        sql = STATEMENTS[table].replace("{P}", str(partners)).replace("{S}", str(SKUS_PER_PARTNER))
        sql = sql.replace("{M}", MARKETS)
        bound = want["listings"] if table in ("card_versions", "price_changes") else units
        for start in range(lo, bound, chunk):
            async with engine.begin() as conn:
                # The bounds are our own integers: inlined, so the server never has to guess a parameter's type.
                await conn.execute(text(_inline(sql, lo=start, hi=min(bound, start + chunk), total=total)))
        progress(f"  {table}: {total:,} rows in {time.perf_counter() - t0:.0f} s")
    async with engine.begin() as conn:
        # Each listing's live card is its first version (the second, where there is one, waits for review).
        await conn.execute(
            text(
                "UPDATE listings l SET card_version_id = cv.id FROM card_versions cv"
                " WHERE cv.product_id = l.product_id AND cv.marketplace = l.marketplace AND cv.version = 1"
                " AND l.card_version_id IS NULL"
            )
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in want:
            await conn.execute(text(f"ANALYZE {table}"))
    return want
