"""One evaluation of every rule, then the dispatch of what it opened: ``check_alerts``.

Run by ``aimanager alerts check`` or by a worker as the job kind ``alerts.check`` (``run_check_job``,
registered by the pipelines' registry and put on a period with ``aimanager alerts schedule``). Each
rule runs in its own session and transaction-free reads; a rule that fails is logged and skipped
(its episodes are neither renewed nor cleared), the others still count. Findings are reconciled in
one transaction; if another checker opened the same episode at the same moment (the unique active
key), this one's reconciliation is dropped — that checker's stands — and dispatch still runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.alerts.dispatcher import DispatchReport, dispatch
from aimanager.alerts.findings import Finding, Rule, RuleContext, load_partners
from aimanager.alerts.rules import RULE_NAMES, RULES
from aimanager.alerts.store import reconcile
from aimanager.alerts.tables import AlertChannel
from aimanager.db.crypto import CredentialBox
from aimanager.logs import get_logger
from aimanager.redact import redact

log = get_logger(__name__)

ALERTS_CHECK_KIND = "alerts.check"
# A condition must stay gone this long before its episode clears (and may fire again): one check that
# happens to miss it (a stock push between read and read-back) is not a recovery.
CLEAR_AFTER = timedelta(minutes=5)


@dataclass
class CheckReport:
    findings: int = 0
    opened: int = 0
    updated: int = 0
    cleared: int = 0
    failed_rules: dict[str, str] = field(default_factory=dict)
    dispatch: DispatchReport = field(default_factory=DispatchReport)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _secret_box(sessions: async_sessionmaker[AsyncSession]) -> CredentialBox | None:
    """The settings' key, opened only when some channel holds secrets (the embedded mode would
    otherwise create a key file just to send a webhook)."""
    async with sessions() as session:
        sealed = (
            await session.execute(
                select(AlertChannel.id).where(AlertChannel.secrets_encrypted.is_not(None)).limit(1)
            )
        ).first()
    if sealed is None:
        return None
    from aimanager.settings import get_settings

    return CredentialBox.from_settings(get_settings())


async def evaluate(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    rules: Mapping[str, Rule],
    *,
    cover_days: Decimal = Decimal(7),
) -> tuple[list[Finding], set[str], dict[str, str]]:
    """Every rule's findings, the rule names (as findings carry them) that ran, and the failures."""
    findings: list[Finding] = []
    evaluated: set[str] = set()
    failed: dict[str, str] = {}
    async with sessions() as session:
        partners = await load_partners(session)
    for name, rule in rules.items():
        try:
            async with sessions() as session:
                ctx = RuleContext(session=session, now=now, partners=partners, cover_days=cover_days)
                findings += await rule(ctx)
        except Exception as exc:  # one broken rule must not silence the others
            failed[name] = redact(f"{type(exc).__name__}: {exc}")[:500]
            log.error("alerts.rule_failed", rule=name, error=failed[name])
            continue
        evaluated.update(RULE_NAMES.get(name, (name,)))
    return findings, evaluated, failed


async def check_alerts(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    *,
    box: CredentialBox | None = None,
    rules: Mapping[str, Rule] | None = None,
    clear_after: timedelta = CLEAR_AFTER,
    cover_days: Decimal = Decimal(7),
    send: bool = True,
) -> CheckReport:
    """Evaluate every rule at ``now``, open, renew and clear episodes, then send what is due
    (``send=False``: record only, as a dry run does)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = CheckReport()
    findings, evaluated, report.failed_rules = await evaluate(
        sessions, now, RULES if rules is None else rules, cover_days=cover_days
    )
    report.findings = len(findings)
    try:
        async with sessions() as session, session.begin():
            done = await reconcile(session, findings, now, evaluated_rules=evaluated, clear_after=clear_after)
    except IntegrityError:
        log.info("alerts.concurrent_check", note="another checker opened the same alerts; its result stands")
    else:
        report.opened, report.updated, report.cleared = len(done.opened), done.updated, done.cleared
        for alert in done.opened:
            log.info(
                "alerts.opened",
                alert_id=alert.id,
                rule=alert.rule,
                partner_id=alert.partner_id,
                severity=alert.severity,
                key=alert.dedup_key,
            )
    if send:
        if box is None:
            box = await _secret_box(sessions)
        report.dispatch = await dispatch(sessions, now, box)
    log.info(
        "alerts.checked",
        findings=report.findings,
        opened=report.opened,
        cleared=report.cleared,
        messages=report.dispatch.messages,
        failed_rules=len(report.failed_rules),
    )
    return report


async def run_check_job(
    sessions: async_sessionmaker[AsyncSession], job: Any, *, dry_run: bool = False
) -> dict[str, Any]:
    """The ``alerts.check`` job handler (``job``: the engine's Job; its payload may set
    ``cover_days``). Its result is the check's report."""
    payload = getattr(job, "payload", None) or {}
    cover = Decimal(str(payload.get("cover_days", 7)))
    report = await check_alerts(sessions, datetime.now(UTC), cover_days=cover, send=not dry_run)
    return report.as_dict()
