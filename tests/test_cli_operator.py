"""The operator's commands, as a person types them: partners, accounts (validated, tested before they
are saved, never shown back), tasks and cards."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aimanager.db.models import MarketplaceIntegration
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.account_health import health_of, jwt_expiry, token_expiry
from aimanager_sandbox.common.sandbox import SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.marketplaces import SANDBOXES
from tests.test_cli_errors import cli


def test_partners_and_accounts_from_the_command_line(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    added = cli(tmp_path, "partners", "add", "acme", "--name", "Acme Savdo", "--ai-budget", "25")
    assert added.returncode == 0 and "acme (added, id 1)" in added.stdout, added.stderr

    # Each marketplace's own credential shape: Ozon needs a Client-Id and an Api-Key.
    bad = cli(
        tmp_path, "accounts", "connect", "-p", "acme", "-m", "ozon", "--credential", "api_key=k-123456789"
    )
    assert bad.returncode == 1 and "client_id" in bad.stderr and "Traceback" not in bad.stderr
    # A live read before saving: an address nobody answers on fails the test and saves nothing.
    dead = cli(
        tmp_path,
        "accounts",
        "connect",
        "-p",
        "acme",
        "-m",
        "wildberries",
        "--credential",
        "token=wb-secret-token-000111",
        "--base-url",
        "http://127.0.0.1:9",
        "--setting",
        "time_scale=0.001",
    )
    assert dead.returncode == 1 and "connection test failed, nothing saved" in dead.stderr, dead.stderr
    assert "wb-secret-token-000111" not in dead.stderr
    listed = cli(tmp_path, "accounts", "list")
    assert "wildberries" not in listed.stdout

    saved = cli(
        tmp_path,
        "accounts",
        "connect",
        "-p",
        "acme",
        "-m",
        "wildberries",
        "--credential",
        "token=wb-secret-token-000111",
        "--no-test",
    )
    assert saved.returncode == 0 and "connected (not tested" in saved.stdout, saved.stderr
    listed = cli(tmp_path, "accounts", "list")
    assert "wildberries" in listed.stdout and "wb-secret-token-000111" not in listed.stdout
    partners = cli(tmp_path, "partners", "list")
    assert "acme" in partners.stdout and "wildberries" in partners.stdout and "25" in partners.stdout

    unknown = cli(tmp_path, "accounts", "disconnect", "-p", "nobody", "-m", "wildberries")
    assert unknown.returncode == 1 and "no partner 'nobody'" in unknown.stderr
    assert cli(tmp_path, "accounts", "disconnect", "-p", "1", "-m", "wildberries").returncode == 0

    tasks = cli(tmp_path, "tasks", "list")
    assert tasks.returncode == 0 and "none yet" in tasks.stdout
    wrong = cli(tmp_path, "tasks", "list", "--status", "exploded")
    assert wrong.returncode == 2 and "one of done, failed" in wrong.stderr


def test_a_command_that_exits_with_a_code_exits_with_it(tmp_path: Path) -> None:
    """``typer.Exit(1)`` used to end the process with 0 (click returns the code without standalone
    mode): scripts could not see the failure."""
    assert cli(tmp_path, "init").returncode == 0
    missing = cli(tmp_path, "schedule", "remove", "all:stock")
    assert missing.returncode == 1 and "no schedule 'all:stock'" in missing.stderr


# -- partners show / disable / enable --------------------------------------------------------------
def test_a_disabled_partner_gets_no_new_work(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "partners", "add", "acme", "--name", "Acme", "--ai-budget", "7").returncode == 0
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        "partner,sku,name,brand,category,cost_price,stock,wb_price\n"
        "acme,A-1,Кружка 350 мл,Lumo,Кружки,40000,5,90000\n",
        encoding="utf-8",
    )
    assert cli(tmp_path, "import", str(catalog)).returncode == 0, "import"
    wb = ["accounts", "connect", "-p", "acme", "-m", "wildberries", "--credential", "token=wb-0123456789"]
    assert cli(tmp_path, *wb, "--no-test").returncode == 0

    off = cli(tmp_path, "partners", "disable", "acme")
    assert off.returncode == 0 and "acme disabled" in off.stdout, off.stderr
    assert "queued 0 job(s)" in cli(tmp_path, "run", "-c", "stock").stdout
    shown = cli(tmp_path, "partners", "show", "acme")
    assert shown.returncode == 0, shown.stderr
    for needle in ("disabled", "Asia/Tashkent", "products: 1 active", "budget 7", "wildberries", "untested"):
        assert needle in shown.stdout, (needle, shown.stdout)

    assert cli(tmp_path, "partners", "enable", "1").returncode == 0
    again = cli(tmp_path, "run", "-c", "stock")
    assert again.returncode == 0 and "queued 1 job(s)" in again.stdout, again.stdout
    missing = cli(tmp_path, "partners", "show", "nobody")
    assert missing.returncode == 1 and "no partner 'nobody'" in missing.stderr


# -- accounts: health, test, rotate -----------------------------------------------------------------
def jwt(exp: datetime) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256'})}.{part({'exp': int(exp.timestamp()), 'sid': 'x'})}.c2lnbmF0dXJl"


def test_jwt_expiry_and_health_warning() -> None:
    soon = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert jwt_expiry(jwt(soon)) == soon
    assert jwt_expiry("not-a-jwt") is None and jwt_expiry("a.b.c") is None
    assert token_expiry(Marketplace.WILDBERRIES, {"token": jwt(soon)}) == soon
    assert token_expiry(Marketplace.UZUM, {"token": jwt(soon)}) is None  # only WB tokens say so
    row = MarketplaceIntegration(partner_id=1, marketplace="wildberries", token_expires_at=soon)
    assert health_of(row, soon - timedelta(days=8)).warning is None
    assert "expires in 3 day(s)" in str(health_of(row, soon - timedelta(days=3, hours=1)).warning)
    assert "expired" in str(health_of(row, soon + timedelta(seconds=1)).warning)
    row.last_success_at, row.last_error_at = soon, soon + timedelta(minutes=1)
    assert health_of(row, soon).state == "failing"


@pytest.fixture
def wb_sandbox() -> Iterator[tuple[Any, str]]:
    """A Wildberries sandbox that knows only the tokens in its ``valid_tokens``."""
    config = SandboxConfig(time_scale=0.01, valid_tokens=set())
    app = SANDBOXES[Marketplace.WILDBERRIES](config)
    with BackgroundServer(app) as server:
        yield config, server.base_url


def test_accounts_test_and_rotate_against_the_sandbox(tmp_path: Path, wb_sandbox: tuple[Any, str]) -> None:
    config, url = wb_sandbox
    old, new, wrong = (
        jwt(datetime.now(UTC) + timedelta(days=3)),
        "wb-new-token-0123456789",
        "wb-wrong-0123456789",
    )
    config.valid_tokens.update({old, new})
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "partners", "add", "acme", "--name", "Acme").returncode == 0
    connect = ["accounts", "connect", "-p", "acme", "-m", "wildberries", "--base-url", url]
    made = cli(tmp_path, *connect, "--credential", f"token={old}", "--setting", "time_scale=0.01")
    assert made.returncode == 0 and "token expires" in made.stdout, made.stderr

    listed = cli(tmp_path, "accounts", "list")
    assert "ok" in listed.stdout and "expires in 2 day(s)" in listed.stdout, listed.stdout  # a week's warning
    assert old not in listed.stdout

    # New credentials the marketplace refuses: the old ones stay and still work.
    refused = cli(tmp_path, "accounts", "rotate", "acme", "wildberries", "--credential", f"token={wrong}")
    assert refused.returncode == 1 and "old ones are kept" in refused.stderr, refused.stderr
    assert wrong not in refused.stderr
    assert cli(tmp_path, "accounts", "test", "acme", "wildberries").returncode == 0

    rotated = cli(tmp_path, "accounts", "rotate", "acme", "wildberries", "--credential", f"token={new}")
    assert rotated.returncode == 0 and "rotated (tested)" in rotated.stdout, rotated.stderr
    config.valid_tokens.discard(old)  # the old token is revoked in the cabinet: nothing uses it any more
    assert cli(tmp_path, "accounts", "test", "acme", "wildberries").returncode == 0

    config.valid_tokens.discard(new)  # now the account itself stops working
    failed = cli(tmp_path, "accounts", "test", "acme", "wildberries")
    assert failed.returncode == 1 and "test failed" in failed.stderr and new not in failed.stderr
    listed = cli(tmp_path, "accounts", "list")
    assert "failing" in listed.stdout and new not in listed.stdout, listed.stdout
    assert "expires" not in listed.stdout  # the new token is no JWT: no expiry known


# -- keys ------------------------------------------------------------------------------------------
def test_shared_database_needs_the_key(tmp_path: Path) -> None:
    shared = {"AIMANAGER_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/never_used"}
    env = {k: v for k, v in os.environ.items() if k != "AIMANAGER_SECRET_KEY"}
    for args in (["init"], ["worker", "--until-idle"]):
        res = subprocess.run(
            [sys.executable, "-m", "aimanager", *args],
            cwd=tmp_path, env={**env, **shared}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode == 2 and len(lines) == 1, res.stderr
        assert "AIMANAGER_SECRET_KEY must be set" in lines[0]
    assert not (tmp_path / ".aimanager.key").exists()  # no host-local key was made


def test_keys_rotate_re_encrypts_every_account(tmp_path: Path, wb_sandbox: tuple[Any, str]) -> None:
    config, url = wb_sandbox
    config.valid_tokens.add("wb-token-0123456789")
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "partners", "add", "acme", "--name", "Acme").returncode == 0
    connect = ["accounts", "connect", "-p", "acme", "-m", "wildberries", "--base-url", url, "--no-test"]
    assert (
        cli(
            tmp_path, *connect, "--credential", "token=wb-token-0123456789", "--setting", "time_scale=0.01"
        ).returncode
        == 0
    )
    old_key = (tmp_path / ".aimanager.key").read_text().strip()

    key = cli(tmp_path, "keys", "generate").stdout.strip()
    rotated = cli(tmp_path, "keys", "rotate", "--new-key-env", "NEW_KEY", env={"NEW_KEY": key})
    assert rotated.returncode == 0 and "re-encrypted 1 secret(s)" in rotated.stdout, rotated.stderr
    assert (tmp_path / ".aimanager.key").read_text().strip() == key != old_key  # embedded: the file moved on
    assert cli(tmp_path, "accounts", "test", "acme", "wildberries").returncode == 0  # reads with the new key
    stale = cli(tmp_path, "accounts", "test", "acme", "wildberries", env={"AIMANAGER_SECRET_KEY": old_key})
    assert stale.returncode == 1 and "cannot be decrypted" in stale.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["accounts", "test", "acme", "ebay"], "'ebay' is not one of"),
        (["accounts", "rotate", "acme", "ozon"], "give the new credentials"),
        (["accounts", "rotate", "acme", "ozon", "--credential", "novalue"], "expected KEY=VALUE"),
        (["partners", "add", "x", "--name", "X", "--timezone", "Mars/Base"], "not an IANA time zone"),
        (["partners", "add", "x", "--name", "X", "--ai-budget", "NaN"], "non-negative amount"),
        (["partners", "show"], "Missing argument"),
        (["keys", "rotate"], "exactly one of --new-key-env"),
        (["keys", "rotate", "--new-key-env", "H1_NO_SUCH_VAR"], "is not set"),
        (["tasks", "list", "--format", "xml"], "one of table, json"),
        (["sandbox", "up", "--time-scale", "0"], "--time-scale"),
        (["sandbox", "up", "--state-file", "/no/such/dir/s.json"], "no such directory"),
    ],
)
def test_operator_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    res = cli(tmp_path, *args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2 and len(lines) == 1 and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr
