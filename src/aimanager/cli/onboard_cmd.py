"""CLI: ``aimanager partners import FILE`` — many partners and their marketplace accounts at once.

An operator taking on a fleet of sellers does not type 4,000 ``accounts connect`` lines. The file holds
one account per row: the partner's slug and name, the marketplace, its credentials and settings, and
the marketplace API's address. JSON Lines (``.jsonl``/``.ndjson``)::

    {"partner": "acme", "name": "Acme Savdo", "marketplace": "uzum",
     "credentials": {"token": "…"}, "settings": {"shop_id": 4242}, "base_url": "https://…"}

or CSV (``.csv``) with the columns ``partner, name, marketplace, base_url`` and one column per field,
``credential:KEY`` or ``setting:KEY`` (an empty cell: not given). Each row goes the way of
``partners add`` + ``accounts connect``: the account is validated with the marketplace's typed models
(``connectors.registry.parse_account``), tested with one live read (``account_health.check_account``,
many at once, bounded by ``--concurrency``), then saved sealed (``accounts.save_account``). A bad row is
reported with its line and the reason and changes nothing; every other row is kept. Exit 1 if any row
was rejected, as ``aimanager import`` does. Credentials are never printed.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from aimanager.cli.engine_cmd import open_backend
from aimanager.cli.operator_cmd import console, sessions_of
from aimanager.cli.partners_cmd import partners_app
from aimanager.domain.enums import Marketplace
from aimanager.errors import AIManagerError, ConfigError
from aimanager.logs import get_logger

log = get_logger("aimanager.cli.onboard")
CSV_FIELDS = ("partner", "name", "marketplace", "base_url")


@dataclass
class AccountRow:
    """One row of the file: a partner's account on one marketplace (``line``: where it was read)."""

    line: int
    partner: str
    name: str
    marketplace: Marketplace
    credentials: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rejected:
    line: int
    reason: str


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    return value.strip()


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object of KEY: VALUE")
    return {str(k): v for k, v in value.items()}


def row_of(line: int, data: dict[str, Any]) -> AccountRow:
    """A parsed row; ``ValueError`` naming the bad field (caught per line by the reader)."""
    market_text = _text(data.get("marketplace"), "marketplace")
    try:
        market = Marketplace(market_text.lower())
    except ValueError:
        names = ", ".join(m.value for m in Marketplace)
        raise ValueError(f"marketplace {market_text!r} is not one of {names}") from None
    settings = _mapping(data.get("settings"), "settings")
    base_url = data.get("base_url")
    if base_url:
        settings["base_url"] = str(base_url).strip()
    partner = _text(data.get("partner"), "partner")
    return AccountRow(
        line=line,
        partner=partner,
        name=str(data.get("name") or "").strip() or partner,
        marketplace=market,
        credentials=_mapping(data.get("credentials"), "credentials"),
        settings=settings,
    )


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg} at column {exc.colno}"
                continue
            yield number, data if isinstance(data, dict) else "expected one JSON object per line"


def _csv(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("partner", "marketplace") if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path.name}: no column {', '.join(missing)} in the header")
        for cells in reader:
            data: dict[str, Any] = {k: cells.get(k) for k in CSV_FIELDS}
            creds: dict[str, str] = {}
            settings: dict[str, str] = {}
            for column, value in cells.items():
                kind, sep, key = (column or "").partition(":")
                if sep and value not in (None, ""):
                    target = creds if kind == "credential" else settings if kind == "setting" else None
                    if target is None:
                        yield reader.line_num, f"unknown column {column!r} (credential:KEY or setting:KEY)"
                        break
                    target[key.strip()] = str(value).strip()
            else:
                data["credentials"], data["settings"] = creds, settings
                yield reader.line_num, data


def read_rows(path: Path) -> tuple[list[AccountRow], list[Rejected]]:
    """Every row of ``path`` parsed, and the lines that could not be, each with its reason."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        source = _jsonl(path)
    elif suffix == ".csv":
        source = _csv(path)
    else:
        raise ConfigError(f"{path.name}: give a .jsonl, .ndjson or .csv file")
    rows: list[AccountRow] = []
    bad: list[Rejected] = []
    seen: dict[tuple[str, Marketplace], int] = {}
    for number, data in source:
        if isinstance(data, str):
            bad.append(Rejected(number, data))
            continue
        try:
            row = row_of(number, data)
        except ValueError as exc:
            bad.append(Rejected(number, str(exc)))
            continue
        first = seen.setdefault((row.partner, row.marketplace), number)
        if first != number:
            # Two rows for one account: which one wins would depend on the order of the tests.
            bad.append(Rejected(number, f"{row.partner} {row.marketplace.value} is already on line {first}"))
            continue
        rows.append(row)
    return rows, bad


async def check_rows(rows: list[AccountRow], *, test: bool, concurrency: int) -> list[Rejected]:
    """Validate every row and (``test``) make its one live read, ``concurrency`` at a time; the rows that
    failed, with the reason. Nothing is written here: the network is kept out of any transaction."""
    from aimanager.connectors.registry import parse_account
    from aimanager.pipelines.services.account_health import check_account

    gate = asyncio.Semaphore(concurrency)

    async def one(row: AccountRow) -> Rejected | None:
        try:
            account = parse_account(row.marketplace, row.credentials, row.settings)
        except AIManagerError as exc:
            return Rejected(row.line, str(exc))
        if not test:
            return None
        async with gate:
            reason = await check_account(account)
        if reason is not None:
            return Rejected(row.line, f"{row.marketplace.value}: connection test failed: {reason}")
        return None

    found = await asyncio.gather(*(one(r) for r in rows))
    return [r for r in found if r is not None]


@dataclass
class Outcome:
    partners_added: int = 0
    partners_updated: int = 0
    connected: int = 0
    replaced: int = 0


async def save_rows(sessions: Any, box: Any, rows: list[AccountRow], *, tested: bool) -> Outcome:
    """Partners upserted and accounts saved through the services ``partners add`` and ``accounts
    connect`` use, in one transaction: the rows were checked before, so none of them fails here."""
    from aimanager.pipelines.services.account_health import record_account_result
    from aimanager.pipelines.services.accounts import save_account
    from aimanager.pipelines.services.directory import upsert_partner

    out = Outcome()
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        for row in rows:
            if row.partner not in ids:
                partner, created = await upsert_partner(session, row.partner, row.name)
                ids[row.partner] = partner.id
                out.partners_added += created
                out.partners_updated += not created
            saved = await save_account(
                session,
                box,
                partner_id=ids[row.partner],
                marketplace=row.marketplace,
                credentials=row.credentials,
                settings=row.settings,
            )
            if tested:
                await record_account_result(session, saved.integration.id, None)
            out.connected += saved.created
            out.replaced += not saved.created
    return out


@partners_app.command("import")
def partners_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSON Lines or CSV, one account a row."
    ),
    test: bool = typer.Option(True, "--test/--no-test", help="Test each account with one live read first."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, max=256, help="Live tests at once."),
) -> None:
    """Add partners and connect their accounts from a file; bad rows are listed with their line and
    reason (exit 1) and change nothing, the other rows are kept."""
    from aimanager.db.crypto import CredentialBox
    from aimanager.settings import get_settings

    async def body() -> tuple[Outcome, list[Rejected], int]:
        rows, bad = read_rows(file)
        failed = await check_rows(rows, test=test, concurrency=concurrency)
        dropped = {r.line for r in failed}
        good = [r for r in rows if r.line not in dropped]
        backend = await open_backend()
        try:
            out = await save_rows(
                sessions_of(backend), CredentialBox.from_settings(get_settings()), good, tested=test
            )
        finally:
            await backend.close()
        return out, sorted(bad + failed, key=lambda r: r.line), len(good)

    out, rejected, kept = asyncio.run(body())
    log.info("partners.imported", accounts=kept, rejected=len(rejected), partners_added=out.partners_added)
    tested = "tested, " if test else "not tested, "
    console.print(
        f"partners: {out.partners_added} added, {out.partners_updated} updated; accounts: "
        f"{out.connected} connected, {out.replaced} replaced ({tested}credentials encrypted); "
        f"{len(rejected)} row(s) rejected",
        markup=False,
    )
    for bad in rejected:
        console.print(f"  line {bad.line}: {bad.reason}", markup=False, soft_wrap=True)
    if rejected:
        sys.exit(1)  # SystemExit: see ``aimanager import`` (standalone_mode=False would swallow typer.Exit)
