"""check_alerts end to end: every rule fires once and reaches Telegram, e-mail and the webhook;
de-duplication, re-firing after a clear, the rate limit's digest, a channel down."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from aimanager.alerts import check_alerts
from aimanager.alerts.tables import Alert, AlertChannel, AlertDelivery
from aimanager.db.crypto import CredentialBox
from tests.alerts import seed
from tests.alerts.conftest import NOW, Telegram, add_channels
from tests.alerts.receivers import SMTPServer, WebhookReceiver, closed_port


def rules_in(texts: list[str]) -> set[str]:
    """The rule of each message ("[SEVERITY] rule" on its first line)."""
    return {t.splitlines()[0].split("] ", 1)[1] for t in texts if not t.startswith("[DIGEST]")}


async def test_each_rule_fires_once_and_reaches_every_channel(
    any_sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    sessions = any_sessions
    await add_channels(sessions, box, telegram, smtp, webhook)
    await seed.every_condition(sessions, NOW)

    report = await check_alerts(sessions, NOW, box=box)

    assert report.failed_rules == {}
    assert report.opened == len(seed.EVERY_RULE) and report.dispatch.messages == 3 * len(seed.EVERY_RULE)
    texts = telegram.texts()
    assert rules_in(texts) == seed.EVERY_RULE and len(texts) == len(seed.EVERY_RULE)
    assert rules_in(smtp.inbox.bodies()) == seed.EVERY_RULE and len(smtp.inbox.messages) == len(texts)
    posted = [a for r in webhook.posts() for a in r.json()["alerts"]]
    assert {a["rule"] for a in posted} == seed.EVERY_RULE and len(posted) == len(texts)

    # Each says what to do: the command that acts on it.
    by_rule = {a["rule"]: a for a in posted}
    assert by_rule["tasks.needs_input"]["action"] == "aimanager tasks list -p acme -c pricing -s needs_input"
    assert by_rule["cards.rejected"]["action"] == "aimanager cards list -p acme -s rejected"
    assert "title longer than 60" in by_rule["cards.rejected"]["message"]
    assert by_rule["stock.mismatch"]["action"] == "aimanager tasks list -p acme -c stock -s failed"
    assert by_rule["prices.failed"]["action"] == "aimanager tasks list -p acme -c pricing -s failed"
    assert "A1: 5 left, 2.5 days" in by_rule["stock.low_cover"]["message"]
    assert "90 %" in by_rule["budget.warning"]["message"] and by_rule["budget.warning"]["partner_id"] == 1
    assert (
        by_rule["budget.exhausted"]["severity"] == "critical"
        and "beta" in by_rule["budget.exhausted"]["message"]
    )
    assert by_rule["token.refused"]["action"].startswith("aimanager accounts connect -p acme -m wildberries")
    assert by_rule["jobs.dead"]["action"].startswith("aimanager jobs list --status dead --kind stock.sync")
    assert (
        by_rule["sla.breached"]["partner_id"] is None
        and "high-priority" in by_rule["sla.breached"]["message"]
    )
    assert any(t.endswith("→ aimanager cards list -p acme -s rejected") for t in texts)
    assert all(m["Subject"].startswith("[AI Manager] ") for m in smtp.inbox.messages)

    # The webhook's body is signed with the channel's key.
    first = webhook.posts()[0]
    expected = hmac.new(b"whsec-0123456789", first.body, hashlib.sha256).hexdigest()
    assert first.headers["x-aimanager-signature"] == f"sha256={expected}"
    assert first.headers["x-aimanager-event"] == "alert"

    async with sessions() as session:
        deliveries = (await session.execute(select(AlertDelivery.status))).scalars().all()
    assert sorted(set(deliveries)) == ["sent"] and len(deliveries) == 3 * len(seed.EVERY_RULE)


async def test_same_condition_twice_sends_one_message(
    sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    await add_channels(sessions, box, telegram, smtp, webhook)
    await seed.every_condition(sessions, NOW)
    await check_alerts(sessions, NOW, box=box)
    sent = (len(telegram.texts()), len(smtp.inbox.messages), len(webhook.posts()))

    again = await check_alerts(sessions, NOW + timedelta(minutes=1), box=box)

    assert again.opened == 0 and again.updated == len(seed.EVERY_RULE) and again.dispatch.messages == 0
    assert (len(telegram.texts()), len(smtp.inbox.messages), len(webhook.posts())) == sent
    async with sessions() as session:
        alerts = (await session.execute(select(Alert))).scalars().all()
    assert len(alerts) == len(seed.EVERY_RULE)
    assert {a.count for a in alerts} == {2} and {a.last_seen for a in alerts} == {NOW + timedelta(minutes=1)}


async def test_fires_again_after_the_condition_cleared_and_came_back(
    sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    await add_channels(sessions, box, telegram, smtp, webhook)
    async with sessions() as session, session.begin():
        acme, _ = await seed.partners(session)
    await seed.needs_input(sessions, acme.id, "A1", NOW)
    await check_alerts(sessions, NOW, box=box)
    assert rules_in(telegram.texts()) == {"tasks.needs_input"}

    # Gone for one check only (less than clear_after): the same episode, no new message.
    await seed.resolve_needs_input(sessions)
    await check_alerts(sessions, NOW + timedelta(minutes=1), box=box)
    await seed.needs_input(sessions, acme.id, "A2", NOW)
    flicker = await check_alerts(sessions, NOW + timedelta(minutes=2), box=box)
    assert flicker.opened == 0 and len(telegram.texts()) == 1

    # Gone past clear_after: cleared. Back: a new episode and a new message everywhere.
    await seed.resolve_needs_input(sessions)
    cleared = await check_alerts(sessions, NOW + timedelta(minutes=10), box=box)
    assert cleared.cleared == 1 and len(telegram.texts()) == 1
    await seed.needs_input(sessions, acme.id, "A3", NOW)
    back = await check_alerts(sessions, NOW + timedelta(minutes=11), box=box)

    assert back.opened == 1 and back.dispatch.messages == 3
    assert len(telegram.texts()) == 2 and "A3@ozon" in telegram.texts()[1]
    assert len(smtp.inbox.messages) == 2 and len(webhook.posts()) == 2
    async with sessions() as session:
        episodes = (await session.execute(select(Alert).order_by(Alert.id))).scalars().all()
    assert [(a.status, a.dedup_key) for a in episodes] == [
        ("cleared", f"tasks.needs_input:p{acme.id}:cards"),
        ("active", f"tasks.needs_input:p{acme.id}:cards"),
    ]


async def test_rate_limit_sends_a_digest_of_the_rest(
    sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    await add_channels(sessions, box, telegram, smtp, webhook, rate=3)
    await seed.every_condition(sessions, NOW)

    report = await check_alerts(sessions, NOW, box=box)

    n = len(seed.EVERY_RULE)
    assert report.dispatch.messages == 9 and report.dispatch.digests == 3
    texts = telegram.texts()
    assert len(texts) == 3 and texts[2].startswith(f"[DIGEST] {n - 2} more alerts")
    # Most severe first: the two sent alone are critical ones.
    assert all(t.startswith("[CRITICAL]") for t in texts[:2])
    # Every rule is in the three messages, nothing lost.
    assert all(any(rule in t for t in texts) for rule in seed.EVERY_RULE)
    hooks = [r.json() for r in webhook.posts()]
    assert [h["event"] for h in hooks] == ["alert", "alert", "digest"] and len(hooks[2]["alerts"]) == n - 2
    assert (
        len(smtp.inbox.messages) == 3
        and smtp.inbox.messages[2]["Subject"] == f"[AI Manager] digest: {n - 2} alerts"
    )

    # The minute's budget is spent: a new alert waits, then goes out once the window moved on.
    async with sessions() as session, session.begin():
        beta_id = (
            await session.execute(select(Alert.partner_id).where(Alert.rule == "budget.exhausted"))
        ).scalar_one()
    await seed.needs_input(sessions, beta_id, "B1", NOW)
    held = await check_alerts(sessions, NOW + timedelta(seconds=20), box=box)
    assert held.opened == 1 and held.dispatch.messages == 0 and held.dispatch.deferred == 3
    assert len(telegram.texts()) == 3
    later = await check_alerts(sessions, NOW + timedelta(seconds=61), box=box)
    assert later.dispatch.messages == 3 and "B1@ozon" in telegram.texts()[3]


async def test_a_channel_down_does_not_stop_the_others_and_is_retried(
    sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    # The mail server is not there; the webhook answers 503 for now.
    await add_channels(
        sessions,
        box,
        telegram,
        smtp,
        webhook,
        mail={
            "settings": {"host": "127.0.0.1", "port": closed_port(), "from": "a@x.test", "to": "ops@x.test"},
        },
    )
    webhook.status = 503
    async with sessions() as session, session.begin():
        acme, _ = await seed.partners(session)
    await seed.needs_input(sessions, acme.id, "A1", NOW)

    report = await check_alerts(sessions, NOW, box=box)

    assert len(telegram.texts()) == 1 and report.dispatch.delivered == 1
    assert set(report.dispatch.errors) == {"mail", "hook"} and report.dispatch.retried == 2
    assert (
        "503" in report.dispatch.errors["hook"] and "ConnectionRefusedError" in report.dispatch.errors["mail"]
    )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    AlertChannel.name,
                    AlertDelivery.status,
                    AlertDelivery.attempts,
                    AlertDelivery.next_attempt_at,
                )
                .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
                .order_by(AlertChannel.name)
            )
        ).all()
        named = await session.execute(select(AlertChannel.name, AlertChannel.failures))
        failures = {name: n for name, n in named}
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("hook", "pending", 1),
        ("mail", "pending", 1),
        ("tg", "sent", 1),
    ]
    assert rows[0][3] == NOW + timedelta(seconds=30)
    assert failures == {"hook": 1, "mail": 1, "tg": 0}

    # Before the backoff is over nothing is tried again; after it, the webhook (back up) gets it.
    webhook.status = 200
    early = await check_alerts(sessions, NOW + timedelta(seconds=10), box=box)
    assert early.dispatch.messages == 0 and webhook.posts() == [webhook.posts()[0]]
    retried = await check_alerts(sessions, NOW + timedelta(seconds=31), box=box)
    assert retried.dispatch.delivered == 1 and set(retried.dispatch.errors) == {"mail"}
    assert len(webhook.posts()) == 2 and webhook.posts()[1].json()["alerts"][0]["rule"] == "tasks.needs_input"
    assert len(telegram.texts()) == 1  # sent once, never again
    async with sessions() as session:
        mail = (
            await session.execute(
                select(AlertDelivery.attempts, AlertDelivery.next_attempt_at)
                .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
                .where(AlertChannel.name == "mail")
            )
        ).one()
    assert mail == (2, NOW + timedelta(seconds=31 + 60))  # 30 s, then 60 s


async def test_partner_channels_get_only_their_partner_and_severity(
    sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    await seed.every_condition(sessions, NOW)
    await add_channels(
        sessions,
        box,
        telegram,
        smtp,
        webhook,
        tg={"partner_id": 1},  # acme's own chat
        mail={"min_severity": "critical"},  # the operator's pager: critical only
    )

    await check_alerts(sessions, NOW, box=box)

    assert rules_in(telegram.texts()) == {
        "tasks.needs_input",
        "cards.rejected",
        "stock.mismatch",
        "prices.failed",
        "stock.low_cover",
        "budget.warning",
        "token.refused",
        "jobs.dead",
    }  # not beta's budget, not the operator-wide SLA
    assert rules_in(smtp.inbox.bodies()) == {"budget.exhausted", "token.refused", "sla.breached"}
    assert {a["rule"] for r in webhook.posts() for a in r.json()["alerts"]} == seed.EVERY_RULE


async def test_two_checkers_at_once_send_each_alert_once(
    any_sessions: Any, box: CredentialBox, telegram: Telegram, smtp: SMTPServer, webhook: WebhookReceiver
) -> None:
    sessions = any_sessions
    await add_channels(sessions, box, telegram, smtp, webhook)
    await seed.every_condition(sessions, NOW)

    first, second = await asyncio.gather(
        check_alerts(sessions, NOW, box=box), check_alerts(sessions, NOW, box=box)
    )

    n = len(seed.EVERY_RULE)
    assert first.opened + second.opened == n
    assert first.dispatch.messages + second.dispatch.messages == 3 * n
    assert len(telegram.texts()) == n and len(smtp.inbox.messages) == n and len(webhook.posts()) == n
    async with sessions() as session:
        alerts = (await session.execute(select(Alert.dedup_key))).scalars().all()
    assert len(alerts) == len(set(alerts)) == n
