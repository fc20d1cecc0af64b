"""Images on the operator's path, through the public CLI only, against ``aimanager sandbox up``:

import a catalog whose photos a loopback HTTP server serves (it is also the CDN of the image store) →
``run -c cards -c images`` (images wait for the cards) → ``worker --until-idle`` → ``tasks list -c
images`` → ``images review list`` → ``images review approve`` → ``run -c images`` → worker again → every
marketplace sandbox holds the rendered images at its size (Uzum's after the seller uploads the photo
files in the cabinet, as a person would).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from aimanager.domain.images import RULES
from tests.cli_e2e.test_operator_flow import (  # noqa: F401 - pytest finds the fixture by name
    Operator,
    product,
    sandbox,
    uzum_cabinet,
    write_catalog,
)
from tests.images import photos

pytestmark = [pytest.mark.slow, pytest.mark.long]


def held(state: dict[str, Any], market: str) -> dict[str, Any]:
    account = state["accounts"][market]
    answer = httpx.get(
        f"{account['base_url']}/_sandbox/media", params={"token": account["account_key"]}, timeout=30
    )
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def upload_uzum_photos(state: dict[str, Any], exports: Path) -> None:
    """The seller uploads each photo file in Uzum's cabinet, oldest first (Uzum has no API for it; a
    later run's file holds only the products whose images changed)."""
    uzum = state["accounts"]["uzum"]
    for path in sorted(exports.rglob("*-uzum-photos.xlsx"), key=lambda p: p.name):
        answer = httpx.post(
            f"{uzum['base_url']}/_sandbox/cabinet/upload",
            params={"token": uzum["account_key"]},
            files={"file": (path.name, path.read_bytes())},
            timeout=60,
        )
        answer.raise_for_status()
        assert answer.json()["ok"], answer.json()


def review(aim: Operator, status: str = "extracted") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        aim("images", "review", "list", "--status", status, "--format", "json").stdout
    )["items"]
    return items


# ``sandbox`` here is ``aimanager sandbox up`` (the module's import outranks the LLM-only fixture of
# this folder's conftest).
def test_images_from_the_command_line(sandbox: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    web = tmp_path / "web"
    photos.save(photos.mug(), web / "p" / "mug.jpg")
    photos.save(photos.pack(3), web / "p" / "pack.jpg")
    ops_dir = tmp_path / "ops"
    ops_dir.mkdir()
    with photos.serve(web) as base:
        aim = Operator(
            ops_dir,
            {
                **sandbox["env"],
                "AIMANAGER_MEDIA_URL": str(web / "media"),
                "AIMANAGER_MEDIA_PUBLIC_URL": f"{base}/media",
            },
        )
        aim("init")
        aim("partners", "add", "acme", "--name", "Acme Savdo", "--ai-budget", "5")
        for command in sandbox["commands"]:
            aim(*command.split()[1:])
        rows = [product(1), product(2)]
        rows[0]["images"], rows[1]["images"] = f"{base}/p/mug.jpg", f"{base}/p/pack.jpg"
        aim("import", str(write_catalog(tmp_path / "catalog.csv", rows)))
        uzum_cabinet(sandbox, rows)

        started = aim("run", "-c", "cards", "-c", "images").stdout
        assert "waiting on cards: images 8 (low)" in started, started
        aim("worker", "--until-idle", timeout=180)
        tasks = json.loads(aim("tasks", "list", "-c", "images", "--format", "json", "--limit", "100").stdout)[
            "tasks"
        ]
        assert len(tasks) == 2 * 4 and {t["capability"] for t in tasks} == {"images"}
        assert all(t["status"] == "done" for t in tasks), [t for t in tasks if t["status"] != "done"]

        # What the model read off the photos waits for review; the seller's colour is never offered.
        waiting = review(aim)
        assert waiting and all(i["attribute"] != "color" for i in waiting), waiting
        assert {i["sku"] for i in waiting} <= {r["sku"] for r in rows}
        pick = next((i for i in waiting if i["attribute"] == "pack_count"), waiting[0])
        approved = aim("images", "review", "approve", pick["item"]).stdout
        assert "approved 1 item(s)" in approved, approved
        assert [i["item"] for i in review(aim, "approved")] == [pick["item"]]
        assert pick["item"] not in [i["item"] for i in review(aim)]
        missing = subprocess.run(
            [sys.executable, "-m", "aimanager", "images", "review", "approve", "NO-SUCH:color"],
            cwd=aim.cwd, env=aim.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert missing.returncode == 1 and "is not waiting for review" in missing.stderr

        # The approved fact is drawn: that product's images are rendered and sent again.
        before = held(sandbox, "wildberries")["held"][pick["sku"]]
        aim("run", "-c", "images")
        aim("worker", "--until-idle", timeout=180)
        after = held(sandbox, "wildberries")["held"][pick["sku"]]
        assert [i["sha256"] for i in after] != [i["sha256"] for i in before]

        # Every marketplace holds the rendered images at its size (Uzum once the file is uploaded).
        upload_uzum_photos(sandbox, ops_dir / "exports")
        for market, rule in RULES.items():
            found = held(sandbox, market.value)
            assert set(found["held"]) == {r["sku"] for r in rows}, (market, found)
            for images in found["held"].values():
                assert len(images) == 1 + len(rule.languages), (market, images)
                sizes = {(i["width"], i["height"], i["format"]) for i in images}
                assert sizes == {(rule.width, rule.height, "JPEG")}, (market, sizes)
                assert all(i["url"].startswith(f"{base}/media/") for i in images), (market, images)
