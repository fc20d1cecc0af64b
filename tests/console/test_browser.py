"""The console driven in headless Chromium: each role logs in, a catalog with bad rows is uploaded and
its rejected rows shown, the overview moves while jobs are queued and pauses a partner and resumes it
(the review path against the sandboxes is ``test_review_browser``). ``AIMANAGER_SCREENSHOTS=DIR``
saves a screenshot of each page there (docs/img is made this way)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from aimanager.db.engine import make_engine
from aimanager.jobs import JobSpec, Priority, SQLBackend
from tests.api.live import LiveServer
from tests.api.seed import PASSWORD

pytestmark = pytest.mark.slow
WAIT_S = 20


def shot(driver: Any, name: str) -> None:
    folder = os.environ.get("AIMANAGER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"console-{name}.png"))


def login(driver: Any, srv: LiveServer, user: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(srv.url + "/console/login")
    driver.find_element(By.NAME, "login").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.ID, "who")))


def test_each_role_logs_in_and_sees_its_own(server: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/console/login")
    browser.find_element(By.NAME, "login").send_keys("admin-user")
    browser.find_element(By.NAME, "password").send_keys("wrong password")
    browser.find_element(By.ID, "login-button").click()
    # The click returns before the answer's page is there: wait for it, as login() does.
    error = WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.ID, "login-error")))
    assert error.text == "Неверный логин или пароль"
    shot(browser, "login")

    login(browser, server, "admin-user")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Обзор")  # ru by default
    browser.get(server.url + "/console/partners")
    assert {"alpha", "beta"} <= {a.text for a in browser.find_elements(By.CSS_SELECTOR, "#partners a")}
    shot(browser, "partners")
    browser.get(server.url + "/console/spend")
    assert browser.find_elements(By.CSS_SELECTOR, "#spend-chart svg rect")
    shot(browser, "spend")
    browser.get(server.url + "/console/review")
    refs = {
        r.get_attribute("data-ref") for r in browser.find_elements(By.CSS_SELECTOR, "#review tr[data-ref]")
    }
    assert refs == {f"c{t.card_ids[1]}" for t in server.world.tenants.values()}  # both partners' pending
    browser.get(server.url + "/console/alerts")
    shot(browser, "alerts")
    browser.delete_all_cookies()

    login(browser, server, "staff-user")
    assert "staff" in browser.find_element(By.ID, "who").text
    browser.delete_all_cookies()

    login(browser, server, "alpha-user")  # a partner, Uzbek interface
    assert browser.find_element(By.TAG_NAME, "h1").text == "Hamkorlar"
    slugs = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "#partners a")}
    assert slugs == {"alpha"}
    browser.get(server.url + "/console/review")  # a partner reviews its own items only
    refs = {
        r.get_attribute("data-ref") for r in browser.find_elements(By.CSS_SELECTOR, "#review tr[data-ref]")
    }
    assert refs == {f"c{server.world.a.card_ids[1]}"}
    browser.get(server.url + "/console/partners/beta")
    assert "BETA-SKU" not in browser.page_source
    browser.get(server.url + "/console/")  # the operator's overview is not a partner's
    assert browser.current_url.endswith("/console/partners")


def test_upload_a_catalog_with_bad_rows_and_see_them(
    server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "partner,sku,name,cost_price,stock\n"
        "alpha,AL-1,Choynak 1.7 l,120000,10\n"
        "alpha,AL-2,,50000,3\n"  # row 3: no name
        "alpha,AL-3,Piyola,abc,2\n",  # row 4: not an amount
        encoding="utf-8",
    )
    login(browser, server, "alpha-user")
    browser.get(server.url + "/console/partners/alpha")
    browser.find_element(By.ID, "catalog-file").send_keys(str(catalog))
    browser.find_element(By.ID, "upload-button").click()
    table = WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.ID, "import-errors")))
    rows = {
        r.find_elements(By.TAG_NAME, "td")[0].text for r in table.find_elements(By.CSS_SELECTOR, "tr.bad-row")
    }
    assert rows == {"3", "4"}
    assert "1/3" in browser.find_element(By.ID, "import-summary").text  # the good row went in
    shot(browser, "partner-upload")


def test_the_overview_moves_while_work_is_queued(server: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    login(browser, server, "admin-user")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "overview").get_attribute("data-updates")
    )
    assert browser.find_element(By.ID, "q-medium").text == "0"

    async def enqueue() -> None:
        engine = make_engine(server.database_url)
        backend = SQLBackend(engine, owns_engine=True)
        try:
            await backend.enqueue_many(
                [JobSpec("run.followups", {}, partner_id=server.world.a.id, priority=Priority.MEDIUM)] * 3
            )
        finally:
            await backend.close()

    asyncio.run(enqueue())
    # The page is not reloaded: the server-sent events bring the new depth.
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "q-medium").text == "3")
    shot(browser, "overview")

    # The queue control: pause partner alpha from the page, see it listed, resume it.
    Select(browser.find_element(By.ID, "pause-scope")).select_by_value("partner")
    browser.find_element(By.ID, "pause-value").send_keys("alpha")
    browser.find_element(By.ID, "pause-reason").send_keys("catalog fix")
    browser.find_element(By.ID, "pause-button").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#pauses tr[data-scope]"))
    [row] = browser.find_elements(By.CSS_SELECTOR, "#pauses tr[data-scope]")
    assert "alpha" in row.text and "catalog fix" in row.text
    shot(browser, "overview-paused")
    row.find_element(By.CSS_SELECTOR, "button.resume").click()
    WebDriverWait(browser, WAIT_S).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#pauses tr[data-scope]")
    )
