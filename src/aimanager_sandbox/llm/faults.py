"""Which failure, if any, a call meets — decided once for both wire formats, rendered by each.

Order: a scripted ``Fault`` (tests), a running outage, ``overloaded_models``, then the per-call rates
(429 with ``retry-after``, 500, 529). The request's headers can be echoed in error bodies
(``echo_headers_in_errors``), as some proxies in front of providers do — API key included, so the
client must scrub what it stores.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from starlette.requests import Request

from aimanager_sandbox.llm.state import SandboxState


@dataclass(frozen=True, slots=True)
class Failure:
    """``rate_limit`` | ``spend_cap`` | ``overloaded`` | ``server_error`` | ``outage``."""

    kind: str
    status: int
    retry_after_s: float = 0.0  # real seconds, for rate_limit


def due_failure(state: SandboxState, model: str) -> Failure | None:
    """The failure this call meets now, or None; counted in ``state.injected`` / ``outage_errors``."""
    cfg, rng = state.config, state.rng
    failure: Failure | None = None
    scripted = state.take_fault(model)
    if scripted is not None:
        status = {"rate_limit": 429, "spend_cap": 429, "overloaded": 529}.get(scripted.kind, 500)
        failure = Failure(scripted.kind, status, scripted.retry_after_s)
    elif (outage := state.outage_status(model)) is not None:
        failure = Failure("outage", outage)
        with state.lock:
            state.outage_errors += 1
    elif model in cfg.overloaded_models:
        failure = Failure("overloaded", 529)
    elif cfg.rate_limit_rate and rng.random() < cfg.rate_limit_rate:
        failure = Failure("rate_limit", 429, cfg.scaled(rng.uniform(*cfg.rate_limit_retry_after_s)))
    elif cfg.error_500_rate and rng.random() < cfg.error_500_rate:
        failure = Failure("server_error", 500)
    elif cfg.overload_rate and rng.random() < cfg.overload_rate:
        failure = Failure("overloaded", 529)
    if failure is not None:
        state.bump(state.injected, failure.kind)
    return failure


def retry_headers(seconds: float) -> dict[str, str]:
    """``retry-after`` (whole seconds, as the HTTP header must be) and ``retry-after-ms`` (exact)."""
    return {
        "retry-after": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(1, int(seconds * 1000))),
    }


def echoed(state: SandboxState, request: Request) -> dict[str, str] | None:
    """The request's headers verbatim when the sandbox plays a header-echoing proxy, else None."""
    if not state.config.echo_headers_in_errors:
        return None
    return {key: value for key, value in request.headers.items()}


def with_echo(message: str, echo: dict[str, str] | None) -> str:
    """An error message with the echoed request headers appended (how such proxies report them)."""
    return message if echo is None else f"{message} (upstream request headers: {json.dumps(echo)})"
