"""``aimanager partners import FILE``: many partners and accounts at once, each tested live against the
sandbox; a bad row is named by its line and reason and loses nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aimanager.cli.onboard_cmd import read_rows
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.sandbox import SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.marketplaces import SANDBOXES
from tests.test_cli_errors import cli


@pytest.fixture
def wb_sandbox() -> Iterator[tuple[Any, str]]:
    """A Wildberries sandbox that knows only the tokens in its ``valid_tokens``."""
    config = SandboxConfig(time_scale=0.01, valid_tokens=set())
    with BackgroundServer(SANDBOXES[Marketplace.WILDBERRIES](config)) as server:
        yield config, server.base_url


def account(partner: str, token: str, url: str, **extra: Any) -> str:
    row = {
        "partner": partner,
        "name": f"{partner.title()} Savdo",
        "marketplace": "wildberries",
        "credentials": {"token": token},
        "settings": {"time_scale": 0.01},
        "base_url": url,
    }
    return json.dumps({**row, **extra})


def test_bad_rows_are_named_by_line_and_the_good_ones_are_kept(
    tmp_path: Path, wb_sandbox: tuple[Any, str]
) -> None:
    config, url = wb_sandbox
    good, other, refused = "wb-good-0123456789", "wb-other-0123456789", "wb-refused-0123456789"
    config.valid_tokens.update({good, other})
    lines = [
        account("alpha", good, url),  # line 1: kept
        account("beta", refused, url),  # line 2: the sandbox refuses the token
        account("gamma", other, url, marketplace="ebay"),  # line 3: no such marketplace
        "{not json",  # line 4
        account("alpha", other, url),  # line 5: alpha's WB account is on line 1 already
        account("delta", other, url, credentials={}),  # line 6: no token
        "",
        account("epsilon", other, url),  # line 8: kept
    ]
    file = tmp_path / "accounts.jsonl"
    file.write_text("\n".join(lines) + "\n")
    assert cli(tmp_path, "init").returncode == 0

    done = cli(tmp_path, "partners", "import", str(file))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "partners: 2 added, 0 updated; accounts: 2 connected, 0 replaced" in out, out
    assert "5 row(s) rejected" in out, out
    assert "line 2: wildberries: connection test failed" in out
    assert "line 3: marketplace 'ebay' is not one of" in out
    assert "line 4: not JSON" in out
    assert "line 5: alpha wildberries is already on line 1" in out
    assert "line 6: " in out and "token" in out.split("line 6: ", 1)[1].splitlines()[0]
    assert all(secret not in out + done.stderr for secret in (good, other, refused))

    listed = cli(tmp_path, "accounts", "list").stdout
    assert "alpha" in listed and "epsilon" in listed and "ok" in listed, listed
    assert "beta" not in listed and "delta" not in listed
    assert good not in listed

    # The operator fixes the file and runs it again: the kept accounts are replaced, nothing doubles.
    config.valid_tokens.add(refused)
    file.write_text("\n".join([lines[0], lines[1], lines[7]]) + "\n")
    again = cli(tmp_path, "partners", "import", str(file))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "partners: 1 added, 2 updated; accounts: 1 connected, 2 replaced" in again.stdout, again.stdout


def test_a_csv_takes_credentials_and_settings_as_columns(tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    file.write_text(
        "partner,name,marketplace,base_url,credential:client_id,credential:api_key,setting:currency_code\n"
        "acme,Acme,ozon,http://127.0.0.1:1,12345,k-123,UZS\n"
        ",Nameless,ozon,,1,k,\n"
        "acme,Acme,uzum,,,,\n"
    )
    rows, bad = read_rows(file)
    assert [(r.line, r.partner, r.marketplace) for r in rows] == [
        (2, "acme", Marketplace.OZON),
        (4, "acme", Marketplace.UZUM),
    ]
    assert rows[0].credentials == {"client_id": "12345", "api_key": "k-123"}
    assert rows[0].settings == {"currency_code": "UZS", "base_url": "http://127.0.0.1:1"}
    assert rows[1].credentials == {}  # an empty cell is not given: parse_account names it later
    assert [(b.line, b.reason) for b in bad] == [(3, "partner is missing")]


def test_a_file_of_another_kind_is_one_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "accounts.xlsx"
    file.write_bytes(b"PK")
    assert cli(tmp_path, "init").returncode == 0
    done = cli(tmp_path, "partners", "import", str(file))
    assert done.returncode == 1 and "give a .jsonl, .ndjson or .csv file" in done.stderr, done.stderr
