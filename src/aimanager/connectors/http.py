"""The shared HTTP transport of every connector: httpx + rate limits + retries + redaction.

``HttpClient.request`` does, in order: take a token from the method group's bucket, send, and on
429/420, 5xx, timeouts or connection errors wait and retry (exponential backoff with full jitter, or
exactly what ``Retry-After`` / ``X-Ratelimit-Retry`` / ``X-Ratelimit-Reset`` say). A 4xx other than a
rate-limit answer is *never* retried — it would be refused again and, where the marketplace bills
refusals (WB: a stock 409 costs 10 requests), billed again; instead the bucket is charged the
marketplace's ``error_cost`` (a number, or a function of status and limit group) and a typed error is
raised.

Writes the connectors send are "set" operations keyed by the seller's article (price = X, stock = N,
card upsert by offer id), so resending one after a timeout cannot double anything.

Credentials live only in the httpx client's default headers. They are never logged (only method,
path, status, attempt and timing are), they are scrubbed out of any response body before it goes
into an exception, and ``repr`` shows the marketplace and host only.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from aimanager.connectors.errors import (
    MarketplaceHTTPError,
    RateLimited,
    TransientError,
    error_for_status,
)
from aimanager.connectors.ratelimit import Bucket, LimiterSet, MarketClock
from aimanager.logs import get_logger
from aimanager.retry import Backoff, parse_delay, retry_after

log = get_logger(__name__)

REDACTED = "***"


# Without a server hint: 0.5 s, 1 s, 2 s … at most 30 s, full jitter.
DEFAULT_BACKOFF = Backoff(base=0.5, cap=30.0)
_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget in marketplace seconds. ``max_wait``: a server asking for longer (Ozon's daily
    item quota) is not waited for — ``RateLimited`` is raised with its ``retry_after``."""

    attempts: int = 5
    backoff: Backoff = DEFAULT_BACKOFF
    max_wait: float = 120.0


ErrorParser = Callable[[int, Any], tuple[str | None, str | None]]


def default_error_parser(status: int, body: Any) -> tuple[str | None, str | None]:
    """Pull (code, message) out of the common error shapes of the four APIs."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return _str(first.get("code")), _str(first.get("message") or first.get("detailMessage"))
        code = body.get("code")
        message = body.get("message") or body.get("errorText") or body.get("detail") or body.get("title")
        return _str(code), _str(message)
    return None, None


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# The marketplaces' wait headers in the order they are trusted, with the seconds one unit stands for;
# ``Retry-After`` (and ``retry-after-ms``) is read by ``retry.retry_after``.
_WAIT_HEADERS = (
    ("x-ratelimit-retry", 1.0),  # WB: seconds until the refused request may be sent again
    ("retry-after", 1.0),
    ("x-ratelimit-reset", 1.0),  # WB: seconds until the bucket refills
    ("item-retry-after", 60.0),  # Ozon product quotas: minutes
    ("x-ratelimit-resource-until", 1.0),  # Yandex Market: an RFC 822 date
)


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait, from the first wait header present that can be read."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, unit in _WAIT_HEADERS:
        if name == "retry-after":
            value = retry_after(lowered, now)
        else:
            value = parse_delay(lowered[name], now) if name in lowered else None
        if value is not None:
            return value * unit
    return None


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every connector of the process.

    Building one loads the CA bundle (~10-20 ms of CPU); a process with 1,000 partners on four
    marketplaces would otherwise build 4,000 of them. The context is read-only once built.
    """
    return httpx.create_ssl_context()  # the certifi bundle, as httpx itself would load


# Idle keep-alive connections are dropped after this many wall seconds, below the idle timeout of the
# servers we talk to (uvicorn's default is 5 s, nginx's 75 s): a connection the server has already
# closed would otherwise sit in CLOSE-WAIT in the pool until the account's next call, which for most
# of 1,000 partners is never.
KEEPALIVE_EXPIRY_S = 4.0
# One pool per marketplace and process (``SharedTransport``): bounded however many accounts use it.
POOL_LIMITS = httpx.Limits(
    max_connections=200, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY_S
)
# A connector built alone (a CLI check, a test) has its own pool: httpx's defaults, our expiry.
ACCOUNT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S
)


def new_transport(limits: httpx.Limits = ACCOUNT_LIMITS) -> httpx.AsyncHTTPTransport:
    """An httpx transport with the process's TLS context, TCP_NODELAY and keep-alive expiry."""
    # Small JSON requests go out as two writes (headers, body); without TCP_NODELAY the second waits
    # for a delayed ACK (~40 ms per call on Linux).
    return httpx.AsyncHTTPTransport(
        verify=shared_tls_context(),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        limits=limits,
    )


class SharedTransport(httpx.AsyncBaseTransport):
    """A connection pool lent to many accounts' clients of one marketplace; closing a client does
    not close it (its owner, the connector pool, does with ``close_pool``).

    Safe to share: a transport holds sockets only. Credentials are each client's default headers,
    cookies each client's jar, and the rate limits each account's ``LimiterSet``. With one pool
    busy all the time, expired idle connections are pruned on every request, so the sockets stay
    bounded by ``POOL_LIMITS`` instead of growing with the accounts.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else new_transport(POOL_LIMITS)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None  # a borrower's close; the pool outlives it

    async def close_pool(self) -> None:
        await self._inner.aclose()


class HttpClient:
    """One account's HTTP access to one marketplace (see the module docstring)."""

    def __init__(
        self,
        *,
        marketplace: str,
        base_url: str,
        auth_headers: Mapping[str, str],
        limiters: LimiterSet,
        hosts: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        error_cost: int | Callable[[int, str], int] = 1,
        rate_limit_statuses: Iterable[int] = (429,),
        error_parser: ErrorParser = default_error_parser,
        max_parallel: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.base_url = base_url.rstrip("/")
        self.hosts = {k: v.rstrip("/") for k, v in (hosts or {}).items()}
        self.limiters = limiters
        self.clock: MarketClock = limiters.clock
        self.retry = retry or RetryPolicy()
        self.error_cost = error_cost
        self.rate_limit_statuses = frozenset(rate_limit_statuses)
        self.error_parser = error_parser
        self.requests_sent = 0
        self._secrets = tuple(v for v in auth_headers.values() if v and len(v) >= 4)
        self._rng = rng or _JITTER  # one Mersenne state (2.5 KB) per process, not per account
        self._parallel = asyncio.Semaphore(max_parallel) if max_parallel else None
        self._headers = {**(extra_headers or {}), **auth_headers}
        self._timeout = timeout
        self._transport = transport if transport is not None else new_transport()
        self._client = self._open()
        self.closed = False

    def __repr__(self) -> str:
        return f"HttpClient(marketplace={self.marketplace!r}, base_url={self.base_url!r}, auth={REDACTED})"

    __str__ = __repr__

    def scrub(self, text: str) -> str:
        """``text`` with every credential value replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def url(self, path: str, host: str | None = None) -> str:
        base = self.hosts.get(host, self.base_url) if host else self.base_url
        return base + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        group: str | tuple[str, ...],
        host: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1.0,
    ) -> httpx.Response:
        """Send one logical request (retrying as the module docstring says); return a 2xx response.

        ``group`` names the bucket(s) the call spends from: a tuple when several limits apply at once
        (Ozon: the method's own limit and the 50 rps per Client-Id). ``files`` makes it a multipart
        upload (field → (file name, bytes, content type)): bytes, not a stream, so a retry can send
        them again. ``headers`` are this request's own (WB's ``X-Nm-Id``), never credentials.
        """
        buckets = [self.limiters.bucket(g) for g in ((group,) if isinstance(group, str) else group)]
        url = self.url(path, host)
        last_error: MarketplaceHTTPError | None = None
        for attempt in range(1, self.retry.attempts + 1):
            for bucket in buckets:
                await bucket.acquire(cost)
            started = time.perf_counter()
            try:
                response = await self._send(
                    method, url, json=json, params=params, files=files, headers=headers
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                # The exception text names only the URL; credentials sit in headers we never render.
                last_error = TransientError(
                    f"{self.marketplace} {method} {path}: {type(exc).__name__}", marketplace=self.marketplace
                )
                log.warning(
                    "connector.http.transport_error",
                    marketplace=self.marketplace,
                    method=method,
                    path=path,
                    attempt=attempt,
                    error=type(exc).__name__,
                )
                await self._backoff(attempt, None)
                continue
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            status = response.status_code
            log.debug(
                "connector.http",
                marketplace=self.marketplace,
                method=method,
                path=path,
                status=status,
                attempt=attempt,
                ms=elapsed_ms,
            )
            if status < 400:
                self._observe_remaining(response, buckets)
                return response
            error = self._error(method, path, response)
            if status in self.rate_limit_statuses:
                wait = retry_after_seconds(response.headers)
                assert isinstance(error, RateLimited)
                error.retry_after = wait
                if wait is not None and wait > self.retry.max_wait:
                    raise error
                if wait is not None:
                    for bucket in buckets:
                        bucket.block_for(wait)
                log.warning(
                    "connector.http.rate_limited",
                    marketplace=self.marketplace,
                    path=path,
                    attempt=attempt,
                    retry_after=wait,
                )
                last_error = error
                if wait is None:
                    await self._backoff(attempt, None)
                continue
            if status >= 500:
                log.warning(
                    "connector.http.server_error",
                    marketplace=self.marketplace,
                    path=path,
                    status=status,
                    attempt=attempt,
                )
                last_error = error
                await self._backoff(attempt, retry_after_seconds(response.headers))
                continue
            # A refused request: charge what the marketplace bills for it and do not resend it.
            first = group if isinstance(group, str) else group[0]
            cost_of_error = self.error_cost(status, first) if callable(self.error_cost) else self.error_cost
            if cost_of_error > 1:
                for bucket in buckets:
                    bucket.penalize(cost_of_error - 1)
            raise error
        assert last_error is not None
        raise last_error

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode the JSON body (``None`` for 204 / empty bodies)."""
        response = await self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _open(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=self._headers, transport=self._transport, timeout=self._timeout)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.requests_sent += 1
        if self._client.is_closed and isinstance(self._transport, SharedTransport):
            # Closed by the connector pool's eviction while a handler still held it: the sockets are
            # the shared pool's, so a fresh client costs nothing to hold and the handler goes on.
            log.info("connector.http.reopened", marketplace=self.marketplace)
            self._client = self._open()
            self.closed = False
        if self._parallel is None:
            return await self._client.request(method, url, **kwargs)
        async with self._parallel:
            return await self._client.request(method, url, **kwargs)

    async def _backoff(self, attempt: int, hinted: float | None) -> None:
        if attempt >= self.retry.attempts:
            return
        if hinted is not None:
            delay = min(hinted, self.retry.max_wait)
        else:
            delay = self.retry.backoff.delay(attempt, self._rng)
        await self.clock.sleep(delay)

    def _observe_remaining(self, response: httpx.Response, buckets: list[Bucket]) -> None:
        """WB says ``X-Ratelimit-Remaining: 0`` before refusing; respect its reset hint early."""
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            reset = retry_after_seconds({"x-ratelimit-reset": response.headers.get("x-ratelimit-reset", "")})
            if reset:
                for bucket in buckets:
                    bucket.block_for(reset)

    def _error(self, method: str, path: str, response: httpx.Response) -> MarketplaceHTTPError:
        text = self.scrub(response.text)
        try:
            import json as _json

            body: Any = _json.loads(text) if text else None
        except ValueError:
            body = text
        code, message = self.error_parser(response.status_code, body)
        request_id = (
            response.headers.get("x-request-id")
            or response.headers.get("x-requestid")
            or (body.get("requestId") or body.get("trace") if isinstance(body, dict) else None)
        )
        cls = error_for_status(response.status_code)
        summary = f"{self.marketplace} {method} {path} refused"
        if message:
            summary += f": {message[:300]}"
        return cls(
            summary,
            marketplace=self.marketplace,
            status=response.status_code,
            body=body,
            request_id=_str(request_id),
            code=code,
        )

    async def aclose(self) -> None:
        self.closed = True
        await self._client.aclose()
