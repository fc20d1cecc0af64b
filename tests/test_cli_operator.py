"""The operator's commands, as a person types them: partners, accounts (validated, tested before they
are saved, never shown back), tasks and cards."""

from __future__ import annotations

from pathlib import Path

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
