"""SQLAlchemy 2 models: the whole schema in one metadata (Alembic migrates it).

Domain tables carry ``partner_id`` on every row so that every query can be scoped by partner. The job
engine declares its own tables (``jobs``, ``job_keys``) on this ``Base`` in
``aimanager.jobs.backends.sql.tables``; the migration environment imports both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aimanager.db.types import JSONType, Money, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; BIGINT stays BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # AI spend budget per calendar month (USD); warn at budget * ratio, stop AI work at the budget.
    ai_budget_usd: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    ai_budget_warn_ratio: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.8"))
    # IANA zone the partner's days, report periods and file names are counted in.
    timezone: Mapped[str] = mapped_column(
        String(64), default="Asia/Tashkent", server_default=text("'Asia/Tashkent'")
    )
    # Per-partner settings (margin target, price bounds, buffers, autopilot switches, languages), validated
    # by ``aimanager.domain.partner_settings`` on every write; keys absent here take the operator default.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarketplaceIntegration(Base):
    __tablename__ = "marketplace_integrations"
    __table_args__ = (
        UniqueConstraint("partner_id", "marketplace"),
        Index("ix_marketplace_integrations_partner_active", "partner_id", "active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(32))
    # Fernet token of the JSON credentials (api keys, client ids); never stored or logged in clear.
    credentials_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # Non-secret account settings: shop id, campaign id, warehouse id, base URL override.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Health, written by every connection test and by the handlers that use the account.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the credentials stop working, where the marketplace says (a WB token carries its expiry).
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("partner_id", "sku"),
        Index("ix_products_partner_active", "partner_id", "is_active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(128))
    barcode: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(500))
    brand: Mapped[str | None] = mapped_column(String(255), nullable=True)
    category: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    images: Mapped[list[str]] = mapped_column(JSONType, default=list)
    cost_price: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="UZS")
    stock: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Hash of the facts a card is written from; an unchanged hash means no new generation is needed.
    facts_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Listing(Base):
    """A product on one marketplace: its ids there, its fees and its current price and stock."""

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("product_id", "marketplace"),
        Index("ix_listings_partner_marketplace", "partner_id", "marketplace"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    external_sku: Mapped[str | None] = mapped_column(String(128), nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    commission_pct: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    logistics_cost: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    min_margin_pct: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    max_price: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    competitor_price: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    stock_pushed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    card_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Hash of the card text the marketplace holds (as last pushed or read back): a card is pushed only
    # when its text differs.
    card_pushed_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="new")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CardVersion(Base):
    __tablename__ = "card_versions"
    __table_args__ = (Index("ix_card_versions_product_marketplace", "product_id", "marketplace", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    prompt_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    input_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # draft → validated → pushed | exported; rejected keeps its validation errors.
    status: Mapped[str] = mapped_column(String(16), default="draft")
    validation_errors: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PriceChange(Base):
    __tablename__ = "price_changes"
    __table_args__ = (Index("ix_price_changes_listing_created", "listing_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    old_price: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    new_price: Mapped[Decimal] = mapped_column(Money)
    floor: Mapped[Decimal] = mapped_column(Money)
    ceiling: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    # planned → pushed → confirmed | failed
    status: Mapped[str] = mapped_column(String(16), default="planned")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StockPush(Base):
    __tablename__ = "stock_pushes"
    __table_args__ = (Index("ix_stock_pushes_listing_created", "listing_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    pool: Mapped[int] = mapped_column(Integer)
    buffer: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    confirmed_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AIUsageLog(Base):
    """One row per LLM call and per cache hit: the ledger every cost figure is summed from."""

    __tablename__ = "ai_usage_logs"
    __table_args__ = (
        Index("ix_ai_usage_logs_partner_created", "partner_id", "created_at"),
        # Calls in flight (``pending``) and those whose worker died (``lost``): the sweep and the
        # estimates shown next to spend read only these few rows (``llm/ledger_inflight.py``).
        Index("ix_ai_usage_logs_outcome_created", "outcome", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_kind: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(16))  # realtime | batch | cache
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(18, 8, asdecimal=True), default=Decimal(0))
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    # ok | partial | hit | pending (in flight, at worst case) | lost (its worker died: worst case)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")
    items: Mapped[int] = mapped_column(Integer, default=1)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AIUsageDaily(Base):
    """The ledger of one closed UTC day summed per partner, model and task kind: spend over weeks reads
    these (a few thousand rows a day at 1,000 partners) instead of millions of ledger rows. Written once
    per day by ``pipelines.services.spend`` (see ``AIUsageDay``); the ledger stays the source."""

    __tablename__ = "ai_usage_daily"
    __table_args__ = (
        Index("ix_ai_usage_daily_day", "day"),
        Index("ix_ai_usage_daily_partner_day", "partner_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str] = mapped_column(String(128))
    task_kind: Mapped[str] = mapped_column(String(64))
    calls: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(18, 8, asdecimal=True))
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)


class AIUsageDay(Base):
    """A day whose ``ai_usage_daily`` rows are written (a day without usage has none, so the rows
    alone cannot say it is done); its key makes two writers of the same day write it once."""

    __tablename__ = "ai_usage_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LLMCacheEntry(Base):
    """The SQL store of the LLM answer cache (Redis is the other store)."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskRecord(Base):
    """What happened to one task a person cares about: a SKU on a marketplace for one capability (an
    analytics report: the partner, with empty marketplace and SKU). One row per task, its latest
    outcome, written by the handler in the same transaction as the effect it records."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("partner_id", "capability", "marketplace", "sku", name="uq_tasks_identity"),
        Index("ix_tasks_partner_status", "partner_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(Integer)
    capability: Mapped[str] = mapped_column(String(16))
    marketplace: Mapped[str] = mapped_column(String(32), default="")
    sku: Mapped[str] = mapped_column(String(128), default="")
    # done | failed | needs_input | skipped
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LLMBatchPack(Base):
    """One pack of a provider batch (Anthropic Message Batches, OpenAI Batch), durable from submission:
    a job that times out or a process that dies finds its items here and polls the same batch instead
    of submitting (and paying for) them again. ``settled_at`` is set by whoever records the pack's
    answer, so it is billed once."""

    __tablename__ = "llm_batch_packs"
    __table_args__ = (Index("ix_llm_batch_packs_open", "settled_at", "created_at"),)

    batch_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    custom_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    item_keys: Mapped[list[str]] = mapped_column(JSONType)  # the cache keys of the pack's items, in order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MarketplaceOrder(Base):
    """One order line (a SKU in a marketplace order) as the partner's stock pool sees it: reserved units
    leave the pool available to every other marketplace at once; a cancellation or return releases
    them; a shipped line has left the warehouse (its units are taken off ``Product.stock``)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("partner_id", "marketplace", "external_id", "sku", name="uq_orders_identity"),
        Index("ix_orders_product_state", "product_id", "state"),
        Index("ix_orders_partner_updated", "partner_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    # reserved → shipped | released
    state: Mapped[str] = mapped_column(String(16), default="reserved")
    # The marketplace's own status word, as last read (for people; ``state`` is what the pool uses).
    marketplace_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AnalyticsReport(Base):
    __tablename__ = "analytics_reports"
    __table_args__ = (Index("ix_analytics_reports_partner_created", "partner_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType)
    narrative_ru: Mapped[str | None] = mapped_column(Text, nullable=True)
    narrative_uz: Mapped[str | None] = mapped_column(Text, nullable=True)
    html_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
