"""``aimanager schedule`` as an operator types it: capabilities and order intake on a period."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_errors import cli


def test_order_intake_and_capabilities_are_scheduled_by_command(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    orders = cli(tmp_path, "schedule", "set", "orders", "--every", "5m")
    assert orders.returncode == 0 and "schedule all:orders" in orders.stdout, orders.stderr
    stock = cli(tmp_path, "schedule", "set", "stock", "--every", "10m", "--partner", "3")
    assert stock.returncode == 0 and "schedule p3:stock" in stock.stdout, stock.stderr

    listed = cli(tmp_path, "schedule", "list")
    assert "all:orders" in listed.stdout and "orders.sync" not in listed.stdout  # it fires run.scheduled
    assert "p3:stock" in listed.stdout and "5 min" in listed.stdout

    bad = cli(tmp_path, "schedule", "set", "refunds", "--every", "5m")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len([line for line in bad.stderr.splitlines() if line.strip()]) == 1

    assert cli(tmp_path, "schedule", "remove", "all:orders").returncode == 0
    assert "all:orders" not in cli(tmp_path, "schedule", "list").stdout
