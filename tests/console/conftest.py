"""Headless Chromium from the distribution (``/usr/bin/chromium`` + its ``chromedriver``) via Selenium.

Nothing is downloaded: the driver path is given, so Selenium Manager is not asked. Without the
browser the tests skip with a loud reason, except under ``CI=true`` where that is a failure (``.ci/run``
installs both packages)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live import LiveServer, live_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _require_browser() -> None:
    if Path(CHROMIUM).exists() and Path(DRIVER).exists():
        return
    msg = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg} (CI=true: a missing browser is a failure)")
    pytest.skip(f"!!! SKIPPED: {msg} !!!")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path, live_interval=0.3) as srv:
        yield srv


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                f"--user-data-dir={tmp_path / 'chrome-profile'}", "--disable-gpu"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
