"""Sending pending deliveries: per channel, rate-limited, digested, retried, never blocking each other.

Each channel with due deliveries is dispatched on its own task (``asyncio.gather``): a channel that
hangs or fails delays nobody else. A channel is leased first (``lease_until``, a compare-and-set), so
two workers checking at once never send the same delivery twice, and no transaction stays open while
a message is on the wire (SQLite's one connection serves the whole process).

Rate limit: at most ``rate_per_minute`` messages in any 60 s (the channel's ``recent_sends``). When
more are due than the budget left, all but one of the budget go out alone (most severe first) and the
last message is a digest of the rest; with no budget left they wait for the next check.

Failures: the first failed send stops the channel for this pass; every delivery it held or still had
to send is retried after the service's retry_after, else a backoff (30 s, doubling, at most an hour),
with the error — redacted — on the delivery and the channel, and logged. After ``MAX_ATTEMPTS`` a
delivery ends ``failed`` with an error-level log line: never dropped silently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.alerts.channels import SEND_TIMEOUT_S, make_sender
from aimanager.alerts.errors import ChannelError
from aimanager.alerts.findings import Severity
from aimanager.alerts.tables import Alert, AlertChannel, AlertDelivery
from aimanager.db.crypto import CredentialBox
from aimanager.errors import AIManagerError
from aimanager.logs import get_logger
from aimanager.redact import redact

log = get_logger(__name__)

WINDOW_S = 60.0
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 20
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0


@dataclass
class DispatchReport:
    messages: int = 0  # messages sent (a digest counts once)
    digests: int = 0
    delivered: int = 0  # deliveries sent, alone or inside a digest
    deferred: int = 0  # held back by a rate limit until the next check
    retried: int = 0  # deliveries whose send failed, to be retried
    abandoned: int = 0  # deliveries that failed their last attempt
    errors: dict[str, str] = field(default_factory=dict)  # channel name → its error this pass

    def add(self, other: DispatchReport) -> None:
        for name in ("messages", "digests", "delivered", "deferred", "retried", "abandoned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after ``attempts`` failed ones: what the service asked for
    (Telegram's retry_after), else 30 s doubling per attempt, at most an hour."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, BACKOFF_CAP_S)
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** max(0, attempts - 1))


async def dispatch(
    sessions: async_sessionmaker[AsyncSession], now: datetime, box: CredentialBox | None
) -> DispatchReport:
    """Send every due delivery of every active channel."""
    async with sessions() as session:
        ids = (
            await session.execute(
                select(AlertDelivery.channel_id)
                .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
                .where(
                    AlertDelivery.status == "pending",
                    AlertDelivery.next_attempt_at <= now,
                    AlertChannel.active.is_(True),
                )
                .distinct()
            )
        ).scalars()
        channel_ids = sorted(set(ids))
    report = DispatchReport()
    results = await asyncio.gather(
        *(_dispatch_channel(sessions, cid, now, box) for cid in channel_ids), return_exceptions=True
    )
    for cid, result in zip(channel_ids, results, strict=True):
        if isinstance(result, BaseException):
            # A bug or a lost database, not a channel failure: the deliveries stay pending.
            reason = redact(f"{type(result).__name__}: {result}")
            log.error("alerts.dispatch_crashed", channel_id=cid, error=reason)
            report.errors[f"channel {cid}"] = reason
            continue
        report.add(result)
    return report


async def _claim(sessions: async_sessionmaker[AsyncSession], cid: int, now: datetime) -> bool:
    async with sessions() as session, session.begin():
        result: Any = await session.execute(
            update(AlertChannel)
            .where(
                AlertChannel.id == cid,
                or_(AlertChannel.lease_until.is_(None), AlertChannel.lease_until < now),
            )
            .values(lease_until=now + LEASE)
        )
        return bool(result.rowcount == 1)


async def _release(sessions: async_sessionmaker[AsyncSession], cid: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(AlertChannel).where(AlertChannel.id == cid).values(lease_until=None))


def _plan(
    due: list[tuple[AlertDelivery, Alert]], budget: int
) -> tuple[list[tuple[list[tuple[AlertDelivery, Alert]], bool]], int]:
    """Messages to send (each: its deliveries and whether it is a digest) and how many wait."""
    if len(due) <= budget:
        return [([d], False) for d in due], 0
    if budget < 1:
        return [], len(due)
    return [([d], False) for d in due[: budget - 1]] + [(due[budget - 1 :], True)], 0


async def _dispatch_channel(
    sessions: async_sessionmaker[AsyncSession], cid: int, now: datetime, box: CredentialBox | None
) -> DispatchReport:
    report = DispatchReport()
    if not await _claim(sessions, cid, now):
        return report  # another worker is on it
    recorded = False
    try:
        async with sessions() as session:
            channel = await session.get(AlertChannel, cid)
            rows = (
                await session.execute(
                    select(AlertDelivery, Alert)
                    .join(Alert, Alert.id == AlertDelivery.alert_id)
                    .where(
                        AlertDelivery.channel_id == cid,
                        AlertDelivery.status == "pending",
                        AlertDelivery.next_attempt_at <= now,
                    )
                )
            ).all()
        if channel is None:
            return report
        due = sorted(((d, a) for d, a in rows), key=lambda da: (-Severity(da[1].severity).rank, da[1].id))
        now_ts = now.timestamp()
        recent = [t for t in (channel.recent_sends or []) if t > now_ts - WINDOW_S]
        plan, report.deferred = _plan(due, channel.rate_per_minute - len(recent))
        sent: list[tuple[list[AlertDelivery], bool]] = []
        failure: ChannelError | None = None
        unsent: list[AlertDelivery] = []
        try:
            sender = make_sender(channel, box)
        except AIManagerError as exc:
            failure = ChannelError(f"channel cannot be opened: {exc}")
            unsent = [d for group, _ in plan for d, _ in group]
            plan = []
        for i, (group, digest) in enumerate(plan):
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S * 2):
                    alerts = [a for _, a in group]
                    await sender.send(alerts, digest=digest, rate_per_minute=channel.rate_per_minute)
            except ChannelError as exc:
                failure = exc
            except TimeoutError:
                failure = ChannelError(f"{channel.kind}: no answer in {SEND_TIMEOUT_S * 2:.0f} s")
            if failure is not None:
                unsent = [d for g, _ in plan[i:] for d, _ in g]
                break
            sent.append(([d for d, _ in group], digest))
            recent.append(now_ts)
        await _record(sessions, channel, now, recent, sent, unsent, failure, report)
        recorded = True
        return report
    finally:
        if not recorded:
            await _release(sessions, cid)


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    channel: AlertChannel,
    now: datetime,
    recent: list[float],
    sent: list[tuple[list[AlertDelivery], bool]],
    unsent: list[AlertDelivery],
    failure: ChannelError | None,
    report: DispatchReport,
) -> None:
    async with sessions() as session, session.begin():
        live = await session.get(AlertChannel, channel.id)
        if live is None:
            return
        for group, digest in sent:
            for d in group:
                await session.execute(
                    update(AlertDelivery)
                    .where(AlertDelivery.id == d.id)
                    .values(
                        status="sent", sent_at=now, digest=digest, attempts=d.attempts + 1, last_error=None
                    )
                )
            report.messages += 1
            report.digests += int(digest)
            report.delivered += len(group)
            log.info("alerts.sent", channel=channel.name, kind=channel.kind, alerts=len(group), digest=digest)
        if failure is not None:
            error = str(failure)[:2000]
            for d in unsent:
                attempts = d.attempts + 1
                if attempts >= MAX_ATTEMPTS:
                    values: dict[str, Any] = {"status": "failed"}
                    report.abandoned += 1
                    log.error(
                        "alerts.delivery_abandoned",
                        channel=channel.name,
                        alert_id=d.alert_id,
                        attempts=attempts,
                        error=error,
                    )
                else:
                    delay = backoff(attempts, failure.retry_after)
                    values = {"next_attempt_at": now + timedelta(seconds=delay)}
                    report.retried += 1
                await session.execute(
                    update(AlertDelivery)
                    .where(AlertDelivery.id == d.id)
                    .values(attempts=attempts, last_error=error, **values)
                )
            live.failures += 1
            live.last_error = error
            report.errors[channel.name] = error
            log.warning(
                "alerts.send_failed",
                channel=channel.name,
                kind=channel.kind,
                deliveries=len(unsent),
                retry_after=failure.retry_after,
                error=error,
            )
        if sent:
            live.sent += len(sent)
            live.last_sent_at = now
            if failure is None:
                live.last_error = None
        live.recent_sends = recent
        live.lease_until = None
