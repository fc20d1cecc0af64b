"""Alert episodes and channels in the database.

``reconcile`` turns one evaluation's findings into episodes: a finding whose key has an active episode
updates it (``last_seen``, ``count``, the newest message), a new key opens an episode with one pending
delivery per subscribed channel, and an active episode its rule no longer finds is cleared once it
has been gone ``clear_after`` (so a condition that flickers between two checks does not fire twice).
Only the rules that ran are cleared: a rule that failed this time keeps its episodes as they were.

Subscriptions: an operator channel (``partner_id`` NULL) takes every alert, a partner's channel only
that partner's; both only from their ``min_severity`` up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.alerts.channels import parse_channel
from aimanager.alerts.errors import ChannelConfigError
from aimanager.alerts.findings import Finding, Severity
from aimanager.alerts.tables import Alert, AlertChannel, AlertDelivery
from aimanager.db.crypto import CredentialBox
from aimanager.redact import register


@dataclass
class Reconciled:
    opened: list[Alert] = field(default_factory=list)
    updated: int = 0
    cleared: int = 0
    deliveries: int = 0


def _strongest(findings: Iterable[Finding]) -> dict[str, Finding]:
    by_key: dict[str, Finding] = {}
    for f in findings:
        if f.key not in by_key or f.severity.rank > by_key[f.key].severity.rank:
            by_key[f.key] = f
    return by_key


async def reconcile(
    session: AsyncSession,
    findings: Sequence[Finding],
    now: datetime,
    *,
    evaluated_rules: set[str],
    clear_after: timedelta,
) -> Reconciled:
    """Apply one evaluation to the stored episodes, in the caller's transaction."""
    out = Reconciled()
    found = _strongest(findings)
    active = {
        a.dedup_key: a
        for a in (await session.execute(select(Alert).where(Alert.status == "active"))).scalars()
    }
    for key, f in found.items():
        alert = active.get(key)
        if alert is not None:
            alert.last_seen, alert.count = now, alert.count + 1
            alert.message, alert.action, alert.severity = f.message, f.action, f.severity.value
            out.updated += 1
            continue
        alert = Alert(
            rule=f.rule,
            partner_id=f.partner_id,
            dedup_key=key,
            severity=f.severity.value,
            message=f.message,
            action=f.action,
            status="active",
            first_seen=now,
            last_seen=now,
            count=1,
        )
        session.add(alert)
        out.opened.append(alert)
    for key, alert in active.items():
        if key in found or alert.rule not in evaluated_rules:
            continue
        if now - alert.last_seen >= clear_after:
            alert.status, alert.cleared_at = "cleared", now
            out.cleared += 1
    await session.flush()
    if out.opened:
        out.deliveries = await _subscribe(session, out.opened, now)
    return out


async def _subscribe(session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int:
    channels = (await session.execute(select(AlertChannel).where(AlertChannel.active.is_(True)))).scalars()
    channel_list = list(channels)
    n = 0
    for alert in alerts:
        rank = Severity(alert.severity).rank
        for ch in channel_list:
            if ch.partner_id is not None and ch.partner_id != alert.partner_id:
                continue
            if rank < Severity(ch.min_severity).rank:
                continue
            session.add(
                AlertDelivery(alert_id=alert.id, channel_id=ch.id, status="pending", next_attempt_at=now)
            )
            n += 1
    await session.flush()
    return n


# -- channels -----------------------------------------------------------------------------------------
async def save_channel(
    session: AsyncSession,
    box: CredentialBox | None,
    *,
    name: str,
    kind: str,
    settings: dict[str, Any],
    secrets: dict[str, str],
    partner_id: int | None = None,
    min_severity: str = "info",
    rate_per_minute: int = 20,
) -> tuple[AlertChannel, bool]:
    """Validate and store a channel (replacing one of the same name); returns it and whether it is new.
    Secrets are sealed with ``box``; the caller owns the transaction."""
    parsed = parse_channel(kind, settings, secrets)
    try:
        severity = Severity(min_severity)
    except ValueError:
        raise ChannelConfigError(
            f"unknown severity {min_severity!r}; one of {', '.join(s.value for s in Severity)}"
        ) from None
    if rate_per_minute < 1:
        raise ChannelConfigError("rate per minute must be at least 1")
    if parsed.secrets and box is None:
        raise ChannelConfigError("secrets given but no key to seal them")
    register(*parsed.secrets.values())
    row = (await session.execute(select(AlertChannel).where(AlertChannel.name == name))).scalar_one_or_none()
    created = row is None
    if row is None:
        row = AlertChannel(name=name, recent_sends=[], sent=0, failures=0)
        session.add(row)
    row.kind, row.partner_id, row.min_severity = parsed.kind, partner_id, severity.value
    row.settings, row.rate_per_minute, row.active = parsed.settings, rate_per_minute, True
    row.secrets_encrypted = box.seal(parsed.secrets) if parsed.secrets and box is not None else None
    row.last_error = None
    await session.flush()
    return row, created


async def channel_by_name(session: AsyncSession, name: str) -> AlertChannel:
    row = (await session.execute(select(AlertChannel).where(AlertChannel.name == name))).scalar_one_or_none()
    if row is None:
        raise ChannelConfigError(f"no alert channel {name!r} (see `aimanager alerts channels list`)")
    return row


async def list_channels(session: AsyncSession) -> list[AlertChannel]:
    return list((await session.execute(select(AlertChannel).order_by(AlertChannel.id))).scalars())


async def list_alerts(
    session: AsyncSession,
    *,
    partner_id: int | None = None,
    status: str | None = "active",
    limit: int = 50,
) -> list[tuple[Alert, dict[str, int]]]:
    """Episodes, newest first, each with its deliveries counted by status."""
    query = select(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    if partner_id is not None:
        query = query.where(Alert.partner_id == partner_id)
    alerts = list((await session.execute(query.order_by(Alert.id.desc()).limit(limit))).scalars())
    counts: dict[int, dict[str, int]] = {a.id: {} for a in alerts}
    if alerts:
        rows = await session.execute(
            select(AlertDelivery.alert_id, AlertDelivery.status, func.count())
            .where(AlertDelivery.alert_id.in_(counts))
            .group_by(AlertDelivery.alert_id, AlertDelivery.status)
        )
        for alert_id, st, n in rows.all():
            counts[alert_id][st] = int(n)
    return [(a, counts[a.id]) for a in alerts]
