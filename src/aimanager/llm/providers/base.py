"""The provider protocol and the retry loop every network provider shares.

The SDKs' own retries are switched off (``max_retries=0``): the SDK would retry a spend-cap 429 — which
cannot succeed until the billing period resets — and it cannot tell the limiter that the server pushed
back. This loop honours ``retry-after-ms`` / ``retry-after``, backs off with full jitter otherwise, stops at
once on a spend cap and reports every push-back to the limiter through ``RetryEvents``.

A request that was sent and then timed out (or lost its connection before the answer) is not like an
error status: the provider keeps generating and bills the tokens. Such a failure is the ``timeout``
kind: retried like ``unavailable``, but each retried attempt is reported first (``on_maybe_billed``),
so the ledger books it before the next goes out, and running out of retries raises ``ProviderTimedOut``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from aimanager.llm.errors import (
    ProviderOverloaded,
    ProviderTimedOut,
    ProviderUnavailable,
    RateLimited,
)
from aimanager.llm.types import BatchOutcome, ProviderRequest, ProviderResponse
from aimanager.logs import get_logger
from aimanager.retry import Backoff

log = get_logger(__name__)
T = TypeVar("T")


class Provider(Protocol):
    """What the gateway needs from a provider."""

    name: str
    supports_batch: bool

    async def complete(self, request: ProviderRequest, events: RetryEvents | None = None) -> ProviderResponse:
        """One request → one answer, retrying transient failures per the provider's policy."""
        ...

    async def submit_batch(self, requests: list[tuple[str, ProviderRequest]]) -> str:
        """Submit ``(custom_id, request)`` pairs to the provider's Batch API; returns the batch id."""
        ...

    async def batch_done(self, batch_id: str) -> bool:
        """True once the batch has ended (every request succeeded, errored, expired or was canceled)."""
        ...

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]:
        """The outcomes of an ended batch, one per custom id."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class RetryEvents(Protocol):
    """Feedback from the retry loop to the limiter, the stats and the ledger."""

    def on_throttled(self, retry_after: float | None) -> None:
        """The server answered 429 rate-limit."""

    def on_overloaded(self) -> None:
        """The server answered 529 or another 5xx."""

    async def on_maybe_billed(self) -> None:
        """The attempt was sent and timed out (or lost its connection), and is about to be retried:
        awaited before the next attempt goes out, so the ledger books the attempt's possible charge
        first. Raising stops the retries (the next attempt must not go out unbooked)."""

    async def before_retry(self, kind: str, delay: float) -> None:
        """Wait until the next attempt may go: ``delay`` (the server's retry-after or a backoff), and
        for a 429 the caller's rate limiter too, so the calls refused together retry paced."""


# Without a server hint: 0.5 s, 1 s, 2 s … at most 8 s, full jitter.
DEFAULT_BACKOFF = Backoff(base=0.5, cap=8.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. Delays without a server hint: ``base × 2ⁿ`` capped, full jitter."""

    max_retries: int = 4
    backoff: Backoff = DEFAULT_BACKOFF
    # A retry-after longer than this is not waited out in-line: the call fails as RateLimited so the
    # gateway can fall back instead of parking a worker for minutes.
    max_retry_after: float = 60.0
    # A 429 that says when to come back is the server pacing us, not failing: such refusals are retried
    # past ``max_retries`` while the waits they asked for add up to at most ``max_retry_after``, up to
    # this many tries. Counted like the others, a burst of calls right after a batch ended (the limits
    # not yet learned from any answer) used its four retries in under a second and failed its jobs.
    max_paced_retries: int = 30


@dataclass(frozen=True, slots=True)
class Failure:
    """A provider error, classified for the loop."""

    kind: str  # throttled | overloaded | unavailable | timeout (sent, maybe billed) | fatal
    error: Exception
    retry_after: float | None = None


# A transport error of one of these classes (httpx, httpx2, httpcore: matched by name, so any SDK
# version's transport counts) left the request unsent or not written whole: no provider answers — or
# bills — a request it never read. Anything else after the connection was made may have been billed.
NEVER_SENT = frozenset(
    {
        *("ConnectError", "ConnectTimeout", "PoolTimeout", "ProxyError", "UnsupportedProtocol"),
        *("LocalProtocolError", "WriteError", "WriteTimeout"),
    }
)


def _transport_cause(exc: BaseException) -> BaseException | None:
    """The first httpx/httpcore exception in ``exc``'s cause chain (the SDKs raise theirs from it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__module__.split(".")[0].startswith(("httpx", "httpcore")):
            return current
        current = current.__cause__ or current.__context__
    return None


def connection_failure(exc: Exception) -> Failure:
    """An SDK connection error (its timeout included): ``unavailable`` when the request never got out,
    else ``timeout`` — sent, so the provider may be generating and billing the answer. Without a
    transport cause to tell, it counts as sent: the ledger may count more than was charged, never less."""
    cause = _transport_cause(exc)
    if cause is not None and any(c.__name__ in NEVER_SENT for c in type(cause).__mro__):
        return Failure("unavailable", exc)
    return Failure("timeout", exc)


async def with_retries(
    send: Callable[[], Awaitable[T]],
    classify: Callable[[Exception], Failure],
    policy: RetryPolicy,
    events: RetryEvents | None,
    *,
    what: str,
) -> tuple[T, int]:
    """Run ``send`` until it succeeds; returns ``(result, retries)``.

    ``classify`` maps SDK exceptions to a ``Failure``; a ``fatal`` one (including a spend cap) is raised
    at once. After ``policy.max_retries`` the last failure is raised as the gateway's error type. A
    ``timeout`` attempt that is retried is reported to ``events.on_maybe_billed`` (if defined) first.
    """
    attempt = 0
    paced = 0.0  # seconds waited on the server's retry-after for 429s
    while True:
        try:
            return await send(), attempt
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = classify(exc)
            if failure.kind == "fatal":
                raise failure.error from exc
            if events is not None:
                if failure.kind == "throttled":
                    events.on_throttled(failure.retry_after)
                elif failure.kind == "overloaded":
                    events.on_overloaded()
            too_long = failure.retry_after is not None and failure.retry_after > policy.max_retry_after
            out_of_tries = attempt >= policy.max_retries
            # (``max_retries=0`` asks for no retries at all: paced or not.)
            if out_of_tries and policy.max_retries and failure.kind == "throttled" and failure.retry_after:
                out_of_tries = (
                    paced + failure.retry_after > policy.max_retry_after
                    or attempt >= policy.max_paced_retries
                )
            if out_of_tries or too_long:
                raise _final(failure, what, attempt) from exc
            if failure.kind == "timeout" and events is not None:
                await events.on_maybe_billed()
            delay = (
                failure.retry_after if failure.retry_after is not None else policy.backoff.delay(attempt + 1)
            )
            log.info("llm.retry", what=what, kind=failure.kind, attempt=attempt + 1, delay_s=round(delay, 3))
            if failure.kind == "throttled" and failure.retry_after is not None:
                paced += delay
            attempt += 1
            if events is not None:
                await events.before_retry(failure.kind, delay)
            else:
                await asyncio.sleep(delay)


def _final(failure: Failure, what: str, attempts: int) -> Exception:
    err = failure.error
    status = getattr(err, "status", None)
    request_id = getattr(err, "request_id", None)
    message = f"{what}: {failure.kind} after {attempts} retries: {err}"
    if failure.kind == "throttled":
        limited = RateLimited(message, status=status, request_id=request_id, code="rate_limit_error")
        limited.retry_after = failure.retry_after
        return limited
    if failure.kind == "overloaded":
        return ProviderOverloaded(message, status=status, request_id=request_id, code="overloaded_error")
    if failure.kind == "timeout":
        return ProviderTimedOut(message)
    return ProviderUnavailable(message)
