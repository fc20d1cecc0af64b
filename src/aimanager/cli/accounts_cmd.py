"""CLI: ``aimanager accounts connect|list|test|rotate|disconnect|hook-url`` — partners' marketplace accounts.

Each marketplace's own credential shape, validated (``connectors.registry.parse_account``), tested
with one live read before anything is saved, sealed at rest, never shown back. ``list`` shows each
account's health (``pipelines.services.account_health``): the last success, the last error and when a
token expires, with a warning a week ahead. ``hook-url`` shows the address an Ozon or Yandex Market
account's order notifications go to (``pipelines.services.order_hooks``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer
from rich.table import Table
from sqlalchemy import select

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.cli.operator_cmd import console, pairs, partner_id_of, sessions_of
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import MarketplaceIntegration
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError

accounts_app = typer.Typer(
    help="Connect, test and rotate partners' marketplace accounts.", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")
CREDENTIAL_HELP = (
    "KEY=VALUE, repeatable: wildberries token; ozon client_id, api_key; yandex api_key; uzum token."
)


def _box() -> CredentialBox:
    from aimanager.settings import get_settings

    return CredentialBox.from_settings(get_settings())


@accounts_app.command("connect")
def accounts_connect(
    partner: str = typer.Option(..., "--partner", "-p", help="Partner id or slug."),
    marketplace: Marketplace = typer.Option(..., "--marketplace", "-m"),
    credential: list[str] = typer.Option([], "--credential", help=CREDENTIAL_HELP),
    setting: list[str] = typer.Option(
        [], "--setting", help="KEY=VALUE, repeatable: yandex business_id, campaign_id; uzum shop_id; …"
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="The marketplace API's address (sandbox, proxy)."
    ),
    test: bool = typer.Option(True, "--test/--no-test", help="Make one cheap read before saving."),
) -> None:
    """Validate an account, test it with one read, then save it encrypted (replacing the old one)."""
    from aimanager.connectors.registry import parse_account
    from aimanager.pipelines.services.account_health import check_account, record_account_result
    from aimanager.pipelines.services.accounts import save_account

    creds = pairs(credential, "--credential")
    settings = pairs(setting, "--setting")
    if base_url:
        settings["base_url"] = base_url

    async def body() -> None:
        account = parse_account(marketplace, creds, settings)  # every bad field named, nothing written
        if test:
            reason = await check_account(account)
            if reason is not None:
                raise ConfigError(f"{marketplace.value}: connection test failed, nothing saved: {reason}")
        box = _box()
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session, session.begin():
                partner_id = await partner_id_of(session, partner)
                saved = await save_account(
                    session,
                    box,
                    partner_id=partner_id,
                    marketplace=marketplace,
                    credentials=creds,
                    settings=settings,
                )
                if test:
                    await record_account_result(session, saved.integration.id, None)
                expires = saved.integration.token_expires_at
        finally:
            await backend.close()
        verb = "connected" if saved.created else "replaced"
        tested = "tested, " if test else "not tested, "
        console.print(
            f"{marketplace.value} account of partner {partner} {verb} ({tested}credentials encrypted)"
        )
        if expires is not None:
            console.print(f"  token expires {expires:%Y-%m-%d %H:%M} UTC")

    asyncio.run(body())


@accounts_app.command("list")
def accounts_list(partner: str | None = typer.Option(None, "--partner", "-p")) -> None:
    """Connected accounts with their health and settings (never their credentials)."""
    from aimanager.pipelines.services.account_health import health_of, short_error
    from aimanager.pipelines.services.directory import list_accounts

    async def body() -> None:
        backend = await open_backend()
        try:
            rows: list[tuple[MarketplaceIntegration, str]] = []
            async with sessions_of(backend)() as session:
                partner_ids = None if partner is None else [await partner_id_of(session, partner)]
                # Page by page (keyset on id), as the API lists them, then grouped by partner to show.
                while page := await list_accounts(
                    session, partner_ids, after_id=rows[-1][0].id if rows else None, limit=500
                ):
                    rows.extend((row, slug) for row, slug in page)
        finally:
            await backend.close()
        rows.sort(key=lambda r: (r[0].partner_id, r[0].marketplace))
        now = datetime.now(UTC)
        table = Table(
            "partner", "marketplace", "active", "health", "last success", "last error", "token", "settings"
        )
        warnings = []
        for row, slug in rows:
            health = health_of(row, now)
            shown = ", ".join(f"{k}={v}" for k, v in sorted((row.settings or {}).items())) or "defaults"
            error = "—"
            if health.last_error_at is not None:
                error = f"{health.last_error_at:%m-%d %H:%M} {short_error(health.last_error)}"
            token = health.warning or (
                f"expires {health.token_expires_at:%Y-%m-%d}" if health.token_expires_at else "—"
            )
            if health.warning:
                warnings.append(f"warning: {slug} {row.marketplace}: {health.warning}")
            table.add_row(
                slug,
                row.marketplace,
                "yes" if row.active else "no",
                health.state,
                _when(health.last_success_at),
                error,
                token,
                shown,
            )
        console.print(table)
        for line in warnings:
            console.print(line, style="yellow", markup=False)

    asyncio.run(body())


def _when(at: datetime | None) -> str:
    return "—" if at is None else f"{at:%Y-%m-%d %H:%M}"


@accounts_app.command("test")
def accounts_test(
    partner: str = typer.Argument(..., help="Partner id or slug."),
    marketplace: Marketplace = typer.Argument(..., help="wildberries, ozon, yandex or uzum."),
) -> None:
    """One cheap live read with the stored account; its outcome is recorded for `accounts list`."""
    from aimanager.pipelines.services.account_health import (
        check_account,
        find_integration,
        open_account,
        record_account_result,
    )

    async def body() -> None:
        box = _box()
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session:
                row = await find_integration(session, await partner_id_of(session, partner), marketplace)
                account = open_account(box, row)
                row_id = row.id
            reason = await check_account(account)  # outside any transaction: a network call
            async with sessions_of(backend)() as session, session.begin():
                await record_account_result(session, row_id, reason)
        finally:
            await backend.close()
        if reason is not None:
            raise ConfigError(f"{marketplace.value} account of partner {partner}: test failed: {reason}")
        console.print(f"{marketplace.value} account of partner {partner}: ok (one read answered)")

    asyncio.run(body())


@accounts_app.command("rotate")
def accounts_rotate(
    partner: str = typer.Argument(..., help="Partner id or slug."),
    marketplace: Marketplace = typer.Argument(..., help="wildberries, ozon, yandex or uzum."),
    credential: list[str] = typer.Option([], "--credential", help=CREDENTIAL_HELP),
    test: bool = typer.Option(True, "--test/--no-test", help="Test the new credentials live first."),
) -> None:
    """Replace an account's credentials (settings kept); the new ones are tested first, the old ones
    stay if the test fails."""
    from aimanager.connectors.registry import parse_account
    from aimanager.pipelines.services.account_health import (
        check_account,
        find_integration,
        record_account_result,
    )
    from aimanager.pipelines.services.accounts import rotate_credentials

    creds = pairs(credential, "--credential")
    if not creds:
        raise typer.BadParameter(
            "give the new credentials (KEY=VALUE, repeatable)", param_hint="'--credential'"
        )

    async def body() -> None:
        box = _box()
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session:
                row = await find_integration(session, await partner_id_of(session, partner), marketplace)
                settings = dict(row.settings or {})
            account = parse_account(marketplace, creds, settings)  # bad fields named, nothing changed
            if test:
                reason = await check_account(account)
                if reason is not None:
                    raise ConfigError(
                        f"{marketplace.value}: the new credentials failed the test, the old ones are kept: "
                        f"{reason}"
                    )
            async with sessions_of(backend)() as session, session.begin():
                row = await find_integration(session, await partner_id_of(session, partner), marketplace)
                await rotate_credentials(session, box, row, creds)
                if test:
                    await record_account_result(session, row.id, None)
                expires = row.token_expires_at
        finally:
            await backend.close()
        tested = "tested" if test else "not tested"
        console.print(f"{marketplace.value} account of partner {partner}: credentials rotated ({tested})")
        if expires is not None:
            console.print(f"  token expires {expires:%Y-%m-%d %H:%M} UTC")

    asyncio.run(body())


@accounts_app.command("disconnect")
def accounts_disconnect(
    partner: str = typer.Option(..., "--partner", "-p"),
    marketplace: Marketplace = typer.Option(..., "--marketplace", "-m"),
) -> None:
    """Stop using an account (kept, inactive; `connect` again re-activates it)."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session, session.begin():
                partner_id = await partner_id_of(session, partner)
                row = (
                    await session.execute(
                        select(MarketplaceIntegration).where(
                            MarketplaceIntegration.partner_id == partner_id,
                            MarketplaceIntegration.marketplace == marketplace.value,
                        )
                    )
                ).scalar_one_or_none()
                if row is None:
                    raise ConfigError(f"partner {partner} has no {marketplace.value} account")
                row.active = False
        finally:
            await backend.close()
        console.print(f"{marketplace.value} account of partner {partner} disconnected")

    asyncio.run(body())


@accounts_app.command("hook-url")
def accounts_hook_url(
    partner: str = typer.Argument(..., help="Partner id or slug."),
    marketplace: Marketplace = typer.Argument(..., help="ozon or yandex (the ones that send notifications)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="The public HTTPS address of `aimanager serve`, put in front of the path."
    ),
) -> None:
    """The address to register as the account's order notification URL (Ozon push notifications,
    Yandex Market API notifications); it is a credential: whoever has it can trigger order reads."""
    from aimanager.pipelines.services.account_health import find_integration
    from aimanager.pipelines.services.order_hooks import HOOK_MARKETS, hook_path, hook_secret
    from aimanager.settings import get_settings

    if marketplace not in HOOK_MARKETS:
        raise typer.BadParameter(
            f"{marketplace.value} sends no order notifications; its orders are read on the schedule",
            param_hint="'MARKETPLACE'",
        )

    async def body() -> str:
        secret = hook_secret(get_settings())
        if secret is None:
            raise ConfigError(
                "no secret key (AIMANAGER_SECRET_KEY or its key file): connect an account first"
            )
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session:
                row = await find_integration(session, await partner_id_of(session, partner), marketplace)
                return hook_path(secret, row.id, marketplace)
        finally:
            await backend.close()

    path = asyncio.run(body())
    console.print((base_url.rstrip("/") if base_url else "") + path, markup=False, soft_wrap=True)
