"""Order notifications (webhooks) from the marketplaces that send them: Ozon push notifications and
Yandex Market API notifications. They make order intake happen *now* instead of at the next period.

Nothing in a notification's body is trusted beyond "something changed for this account": the feed
stays the source of truth, so a notification only queues an ``orders.sync`` of the account's
marketplace (``capabilities/orders``), which reads the feed as the schedule does.

**Address.** ``/hooks/<marketplace>/<token>``, one per integration. The token is derived, not stored:
``<integration id>-<HMAC-SHA256(key, "<id>:<marketplace>")[:40 hex]>`` with a key of its own derived
from the operator's secret key (``AIMANAGER_SECRET_KEY`` or the key file), so every server process
accepts the same tokens and nothing new sits in the database. A token is checked before any query
(a guess costs one HMAC); a wrong one, an inactive account or another marketplace's token is "not
found". Rotating the secret key changes every hook address (``aimanager accounts hook-url`` shows the
new one, to register again).

**One job per burst.** The job's unique key names a *generation*: the newest hook job of this partner
and marketplace that is no longer waiting (it started, finished or was cancelled). Every notification
that arrives while a hook job is still waiting maps to the same key, so a burst makes one job; one that
arrives after the waiting job started gets the next generation, a new job that reads the feed again
(the started one may have read it before this order). If an enqueue finds its key taken by a job that
started meanwhile, the generation is read again (a few times at most).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aimanager.db.models import MarketplaceIntegration
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.jobs import Backend, JobSpec, JobStatus, Priority
from aimanager.jobs.backends.sql.tables import jobs_t
from aimanager.logs import get_logger
from aimanager.pipelines.capabilities.orders import ORDERS_KIND
from aimanager.settings import Settings

log = get_logger(__name__)

HOOK_MARKETS = (Marketplace.OZON, Marketplace.YANDEX)
# Notification types that may change the order feed; every other type is acknowledged and ignored.
ORDER_TYPES: dict[Marketplace, frozenset[str]] = {
    Marketplace.OZON: frozenset({"TYPE_NEW_POSTING", "TYPE_POSTING_CANCELLED", "TYPE_STATE_CHANGED"}),
    Marketplace.YANDEX: frozenset(
        {
            "ORDER_CREATED",
            "ORDER_CANCELLED",
            "ORDER_STATUS_UPDATED",
            "ORDER_UPDATED",
            "ORDER_RETURN_CREATED",
            "ORDER_RETURN_STATUS_UPDATED",
        }
    ),
}
PING_TYPES = {Marketplace.OZON: "TYPE_PING", Marketplace.YANDEX: "PING"}
_MAC_HEX = 40
_ATTEMPTS = 4


def hook_secret(settings: Settings) -> bytes | None:
    """The key hook tokens are signed with, derived from the operator's secret key (None: no key)."""
    secret: bytes | None = None
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
    elif settings.secret_key_file.is_file():
        secret = settings.secret_key_file.read_bytes().strip()
    if not secret:
        return None
    # A key of its own: a hook token says nothing about the credential key or the console's.
    return hashlib.sha256(b"aimanager order hooks\x00" + secret).digest()


def hook_token(secret: bytes, integration_id: int, market: Marketplace) -> str:
    mac = hmac.new(secret, f"{integration_id}:{market.value}".encode(), hashlib.sha256).hexdigest()
    return f"{integration_id}-{mac[:_MAC_HEX]}"


def hook_path(secret: bytes, integration_id: int, market: Marketplace) -> str:
    """The path the marketplace is to POST to (the public HTTPS address goes in front)."""
    if market not in HOOK_MARKETS:
        raise ConfigError(f"{market.value} sends no order notifications: its orders are read on the schedule")
    return f"/hooks/{market.value}/{hook_token(secret, integration_id, market)}"


@dataclass(frozen=True)
class HookTarget:
    partner_id: int
    integration_id: int
    marketplace: Marketplace


async def resolve(session: AsyncSession, secret: bytes, market: Marketplace, token: str) -> HookTarget | None:
    """The active integration ``token`` names on ``market``, or None."""
    head, _, mac = token.partition("-")
    if not head.isdigit() or len(head) > 18 or len(mac) != _MAC_HEX:
        return None
    integration_id = int(head)
    if not hmac.compare_digest(hook_token(secret, integration_id, market).encode(), token.encode()):
        return None
    row = await session.get(MarketplaceIntegration, integration_id)
    if row is None or not row.active or row.marketplace != market.value:
        return None
    return HookTarget(row.partner_id, row.id, market)


@dataclass(frozen=True)
class HookOutcome:
    """What a notification did: ``queued`` a new job, joined a waiting one, or nothing (``ignored``)."""

    action: str  # queued | coalesced | ignored | ping
    job_id: int | None = None


def _prefix(target: HookTarget) -> str:
    return f"orders.hook:p{target.partner_id}:{target.marketplace.value}:"


def hook_spec(target: HookTarget, generation: int) -> JobSpec:
    """The ``orders.sync`` of the notifying marketplace only (the others keep their schedule)."""
    return JobSpec(
        ORDERS_KIND,
        {"marketplaces": [target.marketplace.value]},
        partner_id=target.partner_id,
        priority=Priority.HIGH,
        batch_key=f"p{target.partner_id}:orders",
        unique_key=f"{_prefix(target)}after{generation}",
    )


def _waiting(status: str, attempts: int) -> bool:
    return status == JobStatus.QUEUED.value and attempts == 0


async def _generation(engine: AsyncEngine, target: HookTarget) -> int:
    """The newest hook job of ``target`` that is no longer waiting (0: none)."""
    q = select(func.max(jobs_t.c.id)).where(
        jobs_t.c.partner_id == target.partner_id,
        jobs_t.c.kind == ORDERS_KIND,
        jobs_t.c.unique_key.like(_prefix(target) + "%"),
        or_(jobs_t.c.status != JobStatus.QUEUED.value, jobs_t.c.attempts > 0),
    )
    async with engine.connect() as conn:
        return int((await conn.execute(q)).scalar() or 0)


async def request_sync(engine: AsyncEngine, backend: Backend, target: HookTarget) -> HookOutcome:
    """Queue (or join) the ``orders.sync`` a notification asks for (see the module doc)."""
    for _ in range(_ATTEMPTS):
        spec = hook_spec(target, await _generation(engine, target))
        got = await backend.enqueue_many([spec])
        if got.ids:
            return HookOutcome("queued", got.ids[0])
        q = select(jobs_t.c.id, jobs_t.c.status, jobs_t.c.attempts).where(
            jobs_t.c.unique_key == spec.unique_key
        )
        async with engine.connect() as conn:
            row = (await conn.execute(q)).first()
        if row is not None and _waiting(row.status, row.attempts):
            # Claimed after this moment at the earliest: it reads the feed after this notification.
            return HookOutcome("coalesced", int(row.id))
    # Jobs kept starting under us: one is running now, and the schedule reads the feed anyway.
    log.warning("orders.hook_not_queued", partner_id=target.partner_id, marketplace=target.marketplace.value)
    return HookOutcome("ignored")


async def notified(engine: AsyncEngine, backend: Backend, target: HookTarget, kind: str) -> HookOutcome:
    """Act on one notification of type ``kind`` for ``target`` (already authenticated)."""
    if kind == PING_TYPES[target.marketplace]:
        outcome = HookOutcome("ping")
    elif kind in ORDER_TYPES[target.marketplace]:
        outcome = await request_sync(engine, backend, target)
    else:
        outcome = HookOutcome("ignored")
    log.info(
        "orders.hook",
        partner_id=target.partner_id,
        marketplace=target.marketplace.value,
        type=kind[:64],
        action=outcome.action,
        job_id=outcome.job_id,
    )
    return outcome


def utc_now_text() -> str:
    """``time`` of an answer: UTC, seconds, ``Z`` (as both marketplaces write it)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
