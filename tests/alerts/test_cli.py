"""``aimanager alerts …`` as an operator types it, against the Telegram sandbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.telegram import TelegramConfig, create_app
from tests.alerts.conftest import BOT_TOKEN, CHAT
from tests.test_cli_errors import assert_one_line_error, cli

WIDE = {"COLUMNS": "250"}  # tables as on an operator's terminal, not wrapped at 80


def test_channels_check_and_list_from_the_command_line(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "partners", "add", "acme", "--name", "Acme Savdo").returncode == 0
    with BackgroundServer(create_app(TelegramConfig(tokens={BOT_TOKEN}))) as server:
        state = server.app.state.sandbox
        tg = [
            "--kind",
            "telegram",
            "--setting",
            f"chat_id={CHAT}",
            "--setting",
            f"base_url={server.base_url}",
        ]

        missing = cli(tmp_path, "alerts", "channels", "add", "tg", *tg)
        assert_one_line_error(missing, "secret bot_token")
        added = cli(tmp_path, "alerts", "channels", "add", "tg", *tg, "--secret", f"bot_token={BOT_TOKEN}")
        assert added.returncode == 0 and "channel tg (telegram, operator) added" in added.stdout, added.stderr
        listed = cli(tmp_path, "alerts", "channels", "list", env=WIDE)
        assert "tg" in listed.stdout and f"chat {CHAT}" in listed.stdout and BOT_TOKEN not in listed.stdout

        tested = cli(tmp_path, "alerts", "channels", "test", "tg")
        assert tested.returncode == 0 and "test message sent through tg" in tested.stdout, tested.stderr
        assert [m.text for m in state.read(CHAT)] == [
            "[INFO] test\nTest message from AI Manager: channel tg works.\n→ aimanager alerts channels list"
        ]

        # A cost price is missing: the pricing task waits for it.
        with sqlite3.connect(tmp_path / "aimanager.db") as db:
            db.execute(
                "INSERT INTO tasks (partner_id, capability, marketplace, sku, status, reason, updated_at)"
                " VALUES (1, 'pricing', 'ozon', 'SKU-9', 'needs_input', 'needs input: cost price',"
                " '2026-11-20 12:00:00.000000')"
            )
        checked = cli(tmp_path, "alerts", "check")
        assert checked.returncode == 0 and "1 new alert(s)" in checked.stdout, checked.stderr
        assert "sent 1 message(s)" in checked.stdout
        assert "SKU-9@ozon: needs input: cost price" in state.read(CHAT)[-1].text
        again = cli(tmp_path, "alerts", "check")
        assert "0 new alert(s), 1 still on" in again.stdout and len(state.read(CHAT)) == 2

    alerts = cli(tmp_path, "alerts", "list")
    lines = alerts.stdout.splitlines()
    assert (
        lines[0].startswith("#1 WARNING tasks.needs_input (active, seen 2x")
        and "deliveries: sent 1" in lines[0]
    )
    assert lines[1] == "   acme: 1 pricing task waiting for input — SKU-9@ozon: needs input: cost price"
    assert lines[2] == "   → aimanager tasks list -p acme -c pricing -s needs_input"
    unknown = cli(tmp_path, "alerts", "channels", "test", "nope")
    assert_one_line_error(unknown, "no alert channel 'nope'")
    scheduled = cli(tmp_path, "alerts", "schedule", "--every", "2m")
    assert scheduled.returncode == 0 and "schedule alerts.check: every 2m" in scheduled.stdout, (
        scheduled.stderr
    )
