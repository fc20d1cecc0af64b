"""Request and answer bodies (pydantic v2). Money is ``Decimal`` (a string in JSON); times are UTC.

Nothing here can carry a secret out: accounts are answered with settings and health only, keys with
their prefix (the token only once, in ``ApiKeyCreated``), users without their password hash.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from aimanager.domain.enums import Capability, Marketplace

Role = Literal["admin", "staff", "partner"]
PriorityName = Literal["urgent", "high", "medium", "low"]
# Money out: a plain decimal string ("0", "7.8012"), never exponent notation ("0E-8").
Money = Annotated[
    Decimal, PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str, when_used="json")
]
Slug = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PartnerIn(BaseModel):
    slug: str = Slug
    name: str = Field(min_length=1, max_length=255)
    ai_budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)


class PartnerOut(Out):
    id: int
    slug: str
    name: str
    is_active: bool
    timezone: str
    ai_budget_usd: Money | None
    products: int = 0
    marketplaces: list[str] = []
    created_at: datetime


class AccountConnect(BaseModel):
    marketplace: Marketplace
    credentials: dict[str, str] = Field(description="The marketplace's credential fields (write-only).")
    settings: dict[str, Any] = {}
    test: bool = Field(default=True, description="Make one cheap read before saving.")


class AccountOut(Out):
    id: int
    partner_id: int
    partner: str = ""
    marketplace: str
    active: bool
    settings: dict[str, Any]
    health: str
    warning: str | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    token_expires_at: datetime | None
    created_at: datetime


class RowErrorOut(BaseModel):
    row: int
    field: str
    cell: str | None
    message: str


class ImportOut(BaseModel):
    file: str
    checked: bool
    rows: int
    imported_rows: int
    products_created: int
    products_updated: int
    listings: int
    bad_rows: list[int]
    errors: list[RowErrorOut]
    warnings: list[str]


class RunIn(BaseModel):
    capabilities: list[Capability] = Field(default_factory=lambda: list(Capability), min_length=1)
    partners: list[str] | None = Field(default=None, description="Ids or slugs; default: every partner.")
    skus: list[str] | None = None
    priority: PriorityName = "medium"


class PartnerRunIn(BaseModel):
    capabilities: list[Capability] = Field(default_factory=lambda: list(Capability), min_length=1)
    skus: list[str] | None = None
    priority: PriorityName = "medium"


class RunOut(BaseModel):
    queued: dict[str, int]
    waiting: dict[str, int]
    job_ids: list[int]
    followup_job_ids: list[int]
    skipped: list[str]


class ScheduleIn(BaseModel):
    capability: Capability
    every: str = Field(description="A number and a unit s, m, h or d (at least 1m), e.g. 10m, 6h, 1d.")
    partner: str | None = None
    priority: PriorityName = "low"


class ScheduleOut(BaseModel):
    name: str
    kind: str
    partner_id: int | None
    every_s: float
    next_at: datetime | None


class TaskOut(BaseModel):
    id: int
    partner_id: int
    partner: str
    capability: str
    marketplace: str
    sku: str
    status: str
    reason: str | None
    job_id: int | None
    updated_at: datetime


class RetryIn(BaseModel):
    partner: str | None = None
    capability: Capability | None = None
    marketplace: Marketplace | None = None
    status: Literal["failed", "needs_input"] = "failed"
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    priority: PriorityName = "medium"


class RetryOut(BaseModel):
    matched: int
    jobs_queued: int
    more: bool


class JobOut(BaseModel):
    id: int
    kind: str
    partner_id: int | None
    priority: str
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class QueueStatsOut(BaseModel):
    by_status: dict[str, int]
    queued_by_priority: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    oldest_ready_wait_s: float | None
    throughput_per_s: float
    sla_breaches: dict[str, int]
    started_by_priority: dict[str, int]


class JobIdsIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=10_000)


class CountOut(BaseModel):
    count: int


class CardOut(BaseModel):
    id: int
    partner_id: int
    product_id: int
    sku: str
    marketplace: str
    version: int
    status: str
    model: str | None
    validation_errors: list[str]
    created_at: datetime
    pushed_at: datetime | None


class CardDetailOut(CardOut):
    content: dict[str, Any]


class FieldDiffOut(BaseModel):
    field: str
    old: Any
    new: Any
    lines: list[str]


class DiffOut(BaseModel):
    a: int
    b: int
    fields: list[FieldDiffOut]


class ReportOut(BaseModel):
    id: int
    partner_id: int
    period_start: datetime
    period_end: datetime
    created_at: datetime
    has_html: bool
    narrative_ru: str | None
    narrative_uz: str | None


class SpendOut(BaseModel):
    key: str
    calls: int
    cost_usd: Money
    input_tokens: int
    output_tokens: int
    # The part of cost_usd that is an estimate: calls whose worker died mid-call, at their worst case.
    estimated_usd: Money = Decimal(0)


class BudgetOut(BaseModel):
    partner_id: int
    partner: str
    budget_usd: Money | None
    month_to_date_usd: Money
    state: str


class AlertOut(BaseModel):
    id: int
    rule: str
    partner_id: int | None
    severity: str
    message: str
    action: str
    status: str
    first_seen: datetime
    last_seen: datetime
    count: int
    deliveries: dict[str, int]


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    partner: str | None = None


class ApiKeyOut(Out):
    id: int
    name: str
    prefix: str
    role: str
    partner_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="Shown once: only its SHA-256 is kept.")


class UserIn(BaseModel):
    login: str = Slug
    password: str = Field(min_length=8, max_length=256)
    role: Role
    partner: str | None = None
    language: Literal["ru", "uz", "en"] = "ru"


class UserOut(Out):
    id: int
    login: str
    role: str
    partner_id: int | None
    language: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class AuditOut(Out):
    id: int
    actor: str
    role: str
    partner_id: int | None
    action: str
    target: str | None
    status: int
    client: str | None
    created_at: datetime


# -- review, rollback, queue pauses, rotate ----------------------------------------------------------
ReviewRef = Annotated[
    str, Field(pattern=r"^[cp][0-9]{1,9}$", description="c<card version id> or p<price change id>")
]
ReviewCapability = Literal["cards", "prices"]


class ReviewItemOut(BaseModel):
    ref: str
    capability: str
    partner_id: int
    partner: str
    marketplace: str
    sku: str
    summary: str
    diff: list[str]


class ReviewListOut(BaseModel):
    items: list[ReviewItemOut]
    total: int = Field(description="Everything matching the filters (items holds the first `limit`).")


class ReviewDecisionIn(BaseModel):
    """Which items: named ``refs``, a random ``sample`` of N, or ``all`` — each of those matching the
    filters (a partner caller's filters are always its own partner)."""

    refs: list[ReviewRef] = Field(default_factory=list, max_length=1000)
    sample: int | None = Field(default=None, ge=1, le=10_000)
    all: bool = False
    partner: str | None = Field(default=None, max_length=64)
    capability: ReviewCapability | None = None
    marketplace: Marketplace | None = None


class ReviewRejectIn(ReviewDecisionIn):
    reason: str = Field(min_length=1, max_length=500)


class ReviewDecisionOut(BaseModel):
    decided: list[str]
    jobs_queued: int = 0


class RollbackCardIn(BaseModel):
    sku: str = Field(min_length=1, max_length=128)
    marketplace: Marketplace
    to_version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RollbackPriceIn(BaseModel):
    sku: str = Field(min_length=1, max_length=128)
    marketplace: Marketplace
    to_change: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RollbackOut(BaseModel):
    ref: str
    summary: str


class PauseIn(BaseModel):
    kind: str | None = Field(default=None, min_length=1, max_length=64)
    partner: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class PauseOut(BaseModel):
    scope: str
    value: str
    partner: str | None = None
    reason: str | None
    paused_by: str | None
    paused_at: datetime


class PauseChangeOut(BaseModel):
    changed: bool = Field(description="False: it was paused already (pause) or not paused (resume).")


class RotateIn(BaseModel):
    credentials: dict[str, str] = Field(description="The new credential fields (write-only).")
    test: bool = Field(default=True, description="Test the new credentials live before replacing.")
