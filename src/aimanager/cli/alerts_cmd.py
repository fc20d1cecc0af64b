"""CLI: ``aimanager alerts`` — channels (add, list, test, remove), the alerts themselves (list), one
evaluation of every rule (check) and its period on the workers (schedule)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from aimanager.cli.app import app, one_of
from aimanager.cli.engine_cmd import open_backend
from aimanager.db.models import Partner
from aimanager.errors import ConfigError

console = Console()
alerts_app = typer.Typer(help="Alerts to Telegram, e-mail and webhooks.", no_args_is_help=True)
channels_app = typer.Typer(help="Where alerts go.", no_args_is_help=True)
alerts_app.add_typer(channels_app, name="channels")
app.add_typer(alerts_app, name="alerts")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=f"'{option}'")
        out[key.strip()] = item.strip()
    return out


async def _partner(session: Any, ref: str) -> int:
    query = select(Partner.id).where((Partner.id == int(ref)) if ref.isdigit() else (Partner.slug == ref))
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise ConfigError(f"no partner {ref!r} (see `aimanager partners list`)")
    return int(found)


def _sessions(backend: Any) -> Any:
    from aimanager.db.engine import session_factory

    return session_factory(backend.engine)


def _box() -> Any:
    from aimanager.db.crypto import CredentialBox
    from aimanager.settings import get_settings

    return CredentialBox.from_settings(get_settings())


@channels_app.command("add")
def channels_add(
    name: str = typer.Argument(..., help="A name for the channel (adding it again replaces it)."),
    kind: str = typer.Option(
        ...,
        "--kind",
        "-k",
        help="telegram, email or webhook.",
        callback=one_of("telegram", "email", "webhook"),
    ),
    partner: str | None = typer.Option(
        None, "--partner", "-p", help="Only this partner's alerts (default: every alert, operator-wide)."
    ),
    setting: list[str] = typer.Option(
        [],
        "--setting",
        help="KEY=VALUE, repeatable. telegram: chat_id, base_url; email: host, port, from, to "
        "(comma-separated), starttls, username, ca_file; webhook: url.",
    ),
    secret: list[str] = typer.Option(
        [],
        "--secret",
        help="KEY=VALUE, repeatable, stored encrypted: telegram bot_token; email password; "
        "webhook signing_key (HMAC-SHA256 of the body in X-AIManager-Signature).",
    ),
    min_severity: str = typer.Option(
        "info",
        "--min-severity",
        help="info, warning or critical.",
        callback=one_of("info", "warning", "critical"),
    ),
    rate: int = typer.Option(20, "--rate", min=1, help="Messages a minute at most; a digest after."),
) -> None:
    """Add a channel (validated; secrets encrypted at rest, never shown back)."""
    from aimanager.alerts.store import save_channel

    settings, secrets = _pairs(setting, "--setting"), _pairs(secret, "--secret")

    async def body() -> tuple[bool, str]:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                partner_id = await _partner(session, partner) if partner is not None else None
                _, created = await save_channel(
                    session,
                    _box() if secrets else None,
                    name=name,
                    kind=kind,
                    settings=dict(settings),
                    secrets=secrets,
                    partner_id=partner_id,
                    min_severity=min_severity,
                    rate_per_minute=rate,
                )
        finally:
            await backend.close()
        return created, partner or "operator"

    created, scope = asyncio.run(body())
    console.print(f"channel {name} ({kind}, {scope}) {'added' if created else 'replaced'}")


@channels_app.command("list")
def channels_list() -> None:
    """Channels with what they sent and their last error (never their secrets)."""
    from aimanager.alerts.channels import describe_target
    from aimanager.alerts.store import list_channels

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                rows = await list_channels(session)
                slugs = {pid: slug for pid, slug in await session.execute(select(Partner.id, Partner.slug))}
        finally:
            await backend.close()
        table = Table("name", "kind", "scope", "target", "sent", "failed", "last error")
        for ch in rows:
            scope = "operator" if ch.partner_id is None else slugs.get(ch.partner_id, str(ch.partner_id))
            table.add_row(
                ch.name + ("" if ch.active else " (off)"),
                ch.kind,
                f"{scope}, {ch.min_severity}+, {ch.rate_per_minute}/min",
                describe_target(ch),
                str(ch.sent),
                str(ch.failures),
                (ch.last_error or "")[:120],
            )
        console.print(table)
        if not rows:
            console.print("no channels (see `aimanager alerts channels add --help`)")

    asyncio.run(body())


@channels_app.command("test")
def channels_test(name: str = typer.Argument(...)) -> None:
    """Send a test message through a channel now (exit 1 with the channel's answer if it fails)."""
    from aimanager.alerts.channels import make_sender
    from aimanager.alerts.store import channel_by_name
    from aimanager.alerts.tables import Alert

    async def body() -> str:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                row = await channel_by_name(session, name)
        finally:
            await backend.close()
        sender = make_sender(row, _box() if row.secrets_encrypted is not None else None)
        now = datetime.now(UTC)
        probe = Alert(
            rule="test",
            dedup_key=f"test:{name}",
            severity="info",
            message=f"Test message from AI Manager: channel {name} works.",
            action="aimanager alerts channels list",
            first_seen=now,
            last_seen=now,
            count=1,
        )
        await sender.send([probe], digest=False, rate_per_minute=row.rate_per_minute)
        return row.kind

    kind = asyncio.run(body())
    console.print(f"test message sent through {name} ({kind})")


@channels_app.command("remove")
def channels_remove(name: str = typer.Argument(...)) -> None:
    """Delete a channel and its pending deliveries."""
    from aimanager.alerts.store import channel_by_name

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                await session.delete(await channel_by_name(session, name))
        finally:
            await backend.close()

    asyncio.run(body())
    console.print(f"channel {name} removed")


@alerts_app.command("list")
def alerts_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    status: str = typer.Option("active", "--status", "-s", help="active, cleared or all."),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """Alerts, newest first, with the command that acts on each."""
    from aimanager.alerts.store import list_alerts

    if status not in ("active", "cleared", "all"):
        raise typer.BadParameter("one of active, cleared, all", param_hint="'--status'")

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                partner_id = await _partner(session, partner) if partner is not None else None
                rows = await list_alerts(
                    session, partner_id=partner_id, status=None if status == "all" else status, limit=limit
                )
        finally:
            await backend.close()
        # Plain lines, not a table: the message and the command stay whole and copyable at any width.
        for alert, deliveries in rows:
            sent = ", ".join(f"{k} {v}" for k, v in sorted(deliveries.items())) or "no channel"
            typer.echo(
                f"#{alert.id} {alert.severity.upper()} {alert.rule} ({alert.status}, seen {alert.count}x "
                f"{alert.first_seen:%Y-%m-%d %H:%M}..{alert.last_seen:%H:%M} UTC; deliveries: {sent})"
            )
            typer.echo(f"   {alert.message}")
            typer.echo(f"   → {alert.action}")
        if not rows:
            typer.echo(f"no {'' if status == 'all' else status + ' '}alerts")

    asyncio.run(body())


@alerts_app.command("check")
def alerts_check(
    send: bool = typer.Option(True, "--send/--no-send", help="Send what is due (default) or only record."),
) -> None:
    """Evaluate every rule once, open and clear alerts, and send what is due."""
    from aimanager.alerts import check_alerts
    from aimanager.logs import configure
    from aimanager.settings import get_settings

    settings = get_settings()
    configure(settings.log_level, settings.log_json)  # log lines to stderr, the summary to stdout

    async def body() -> Any:
        backend = await open_backend()
        try:
            return await check_alerts(_sessions(backend), datetime.now(UTC), send=send)
        finally:
            await backend.close()

    r = asyncio.run(body())
    d = r.dispatch
    console.print(
        f"{r.findings} condition(s) found: {r.opened} new alert(s), {r.updated} still on, "
        f"{r.cleared} cleared; "
        f"sent {d.messages} message(s) ({d.digests} digest(s)) for {d.delivered} delivery(ies), "
        f"{d.deferred} held by rate limits, {d.retried} to retry, {d.abandoned} given up"
    )
    for rule, error in r.failed_rules.items():
        console.print(f"  rule {rule} failed: {error}")
    for channel, error in d.errors.items():
        console.print(f"  channel {channel}: {error}")


@alerts_app.command("schedule")
def alerts_schedule(
    every: str = typer.Option("1m", "--every", help="1m, 5m, 1h … (at least a minute)."),
) -> None:
    """Let the workers run `alerts check` every period (one firing per period across workers)."""
    from aimanager.alerts import ALERTS_CHECK_KIND
    from aimanager.jobs import JobSpec, Priority
    from aimanager.pipelines.services.schedules import parse_every

    try:
        seconds = parse_every(every)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--every'") from None

    async def body() -> None:
        backend = await open_backend()
        try:
            job = JobSpec(ALERTS_CHECK_KIND, {}, priority=Priority.HIGH, batch_key=ALERTS_CHECK_KIND)
            await backend.set_schedule(ALERTS_CHECK_KIND, job, seconds)
        finally:
            await backend.close()

    asyncio.run(body())
    console.print(f"schedule {ALERTS_CHECK_KIND}: every {every.strip()} (workers fire it)")
