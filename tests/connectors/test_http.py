"""The shared transport: retries, backoff, retry headers, 4xx handling, buckets, credential redaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import structlog

from aimanager.connectors.errors import AuthError, NotFoundError, TransientError, ValidationRejected
from aimanager.connectors.http import retry_after_seconds
from aimanager.connectors.ratelimit import KeyedWindow, LimitSpec, MarketClock, TokenBucket, plan_bulk
from aimanager.connectors.registry import make_connector, parse_account
from aimanager_sandbox import wildberries
from tests.connectors.conftest import Running, settings, start


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app)


def test_retry_after_headers() -> None:
    assert retry_after_seconds({"X-Ratelimit-Retry": "6"}) == 6
    assert retry_after_seconds({"Retry-After": "2.5"}) == 2.5
    assert retry_after_seconds({"X-Ratelimit-Reset": "3"}) == 3
    assert retry_after_seconds({"Item-Retry-After": "2"}) == 120  # Ozon: minutes
    now = datetime(2026, 1, 1, tzinfo=UTC)
    http_date = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds({"Retry-After": http_date}, now) == 30
    assert retry_after_seconds({}) is None


def test_bucket_reservations_pace_requests() -> None:
    clock = MarketClock(1.0)
    bucket = TokenBucket(LimitSpec(10, 6, burst=5), clock)
    waits = [bucket.reserve() for _ in range(6)]
    assert waits[:4] == [0.0] * 4  # one burst token kept spare
    assert waits[4] > 0 and waits[5] > waits[4]
    bucket.penalize(9)
    assert bucket.tokens < -9


def test_keyed_window_cooldown() -> None:
    window = KeyedWindow(1, 30, MarketClock(1.0))
    assert window.reserve(["a@1", "b@1"]) == 0.0
    assert window.reserve(["c@1"]) == 0.0
    assert window.reserve(["a@1"]) > 29
    assert window.wait_for("c@1") > 29 and window.wait_for("z@1") == 0.0


def test_plan_bulk_counts_calls_and_time() -> None:
    plan = plan_bulk(1000, [LimitSpec(10, 6, burst=5)], partners=100, skus=10_000, follow=1)
    assert plan.calls_per_partner == 20 and plan.calls == 2000
    assert plan.seconds == pytest.approx((20 - 5) / (10 / 6))


async def test_retries_injected_5xx_and_429(wb: Running, token: str) -> None:
    conn = make_connector(parse_account("wildberries", {"token": token}, settings()), wb.url)
    try:
        wb.sandbox.config.faults.next_errors = 2
        assert len(await conn.read_stocks(["SEED-001"])) == 1
        wb.sandbox.config.faults.next_429 = 2
        assert len(await conn.read_stocks(["SEED-002"])) == 1
    finally:
        await conn.aclose()
    faulted = [r for r in wb.sandbox.requests if r.faulted]
    assert [r.status for r in faulted] == [503, 503, 429, 429]
    assert wb.sandbox.rejections() == 0


async def test_timeouts_are_retried(wb: Running, token: str) -> None:
    wb.sandbox.config.faults.hang_seconds = 0.5
    wb.sandbox.config.faults.next_hangs = 1
    conn = make_connector(parse_account("wildberries", {"token": token}, settings(timeout=0.1)), wb.url)
    try:
        assert len(await conn.read_stocks(["SEED-001"])) == 1
    finally:
        await conn.aclose()


async def test_persistent_5xx_raises_transient_after_attempts(wb: Running, token: str) -> None:
    conn = make_connector(parse_account("wildberries", {"token": token}, settings(retry_attempts=3)), wb.url)
    wb.sandbox.config.faults.next_errors = 10
    try:
        with pytest.raises(TransientError) as info:
            await conn.http.json("GET", "/api/v3/warehouses", group="marketplace")
    finally:
        await conn.aclose()
    assert info.value.status == 503
    assert wb.sandbox.count(path="/api/v3/warehouses") == 3


async def test_4xx_is_not_retried_and_only_a_stock_409_is_billed_ten(wb: Running, token: str) -> None:
    conn = make_connector(parse_account("wildberries", {"token": token}, settings()), wb.url)
    bucket = conn.http.limiters.bucket("marketplace")
    charged: list[float] = []
    penalize = bucket.penalize
    bucket.penalize = lambda n: (charged.append(n), penalize(n))[1]  # type: ignore[method-assign]
    body = {"stocks": [{"chrtId": 1, "amount": 1}]}
    try:
        with pytest.raises(NotFoundError) as missing:
            await conn.http.request("PUT", "/api/v3/stocks/999", group="marketplace", json=body)
        assert charged == []  # a 404 costs what any request costs
        with pytest.raises(ValidationRejected) as refused:
            await conn.http.request("PUT", "/api/v3/stocks/1001", group="marketplace", json=body)
    finally:
        await conn.aclose()
    assert charged == [9]  # WB bills a stock 409 as 10 requests: 9 more than the one taken
    assert (
        wb.sandbox.count(path="/api/v3/stocks/999") == 1 and wb.sandbox.count(path="/api/v3/stocks/1001") == 1
    )
    assert missing.value.status == 404 and missing.value.code == "NotFound"
    assert missing.value.body == {"code": "NotFound", "message": "Склад не найден"}
    assert refused.value.status == 409 and refused.value.code == "NotFound"


async def test_credentials_never_logged_or_shown(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    secret = token + "-SECRET"
    app_iter = start(wildberries.create_app, valid_tokens={secret})
    running = next(app_iter)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    try:
        with structlog.testing.capture_logs() as events:
            good = make_connector(parse_account("wildberries", {"token": secret}, settings()), running.url)
            running.sandbox.config.faults.next_errors = 1
            await good.read_stocks(["SEED-001"])
            texts += [repr(good), str(good.http), repr(good.http)]
            await good.aclose()
            bad = make_connector(
                parse_account("wildberries", {"token": secret[::-1]}, settings()), running.url
            )
            with pytest.raises(AuthError) as info:
                await bad.read_stocks(["SEED-001"])
            texts += [str(info.value), repr(info.value), str(info.value.body), repr(bad)]
            await bad.aclose()
    finally:
        next(app_iter, None)
    texts += [str(e) for e in events] + [r.getMessage() for r in caplog.records] + list(capsys.readouterr())
    assert events, "expected structured log events to scan"
    for text in texts:
        assert secret not in text and secret[::-1] not in text


def test_httpx_transport_is_injectable() -> None:
    transport = httpx.AsyncHTTPTransport(retries=0)
    conn = make_connector(parse_account("wildberries", {"token": "t" * 20}), "http://127.0.0.1:9", transport)
    assert conn.http._client._transport is transport  # type: ignore[attr-defined]
