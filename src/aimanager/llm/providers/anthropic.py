"""Anthropic provider on the official ``anthropic`` SDK: Messages and Message Batches APIs."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

import anthropic

from aimanager.llm.errors import ProviderHTTPError, SpendCapReached
from aimanager.llm.providers.base import (
    Failure,
    RetryEvents,
    RetryPolicy,
    connection_failure,
    with_retries,
)
from aimanager.llm.types import BatchOutcome, ProviderRequest, ProviderResponse, RateLimitInfo, Usage
from aimanager.redact import register
from aimanager.retry import retry_after

SPEND_CAP_CODE = "enforced_spend_limit_reached"


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def limits_from_headers(headers: Mapping[str, str]) -> RateLimitInfo:
    """The ``anthropic-ratelimit-*`` headers of a response."""
    prefix = "anthropic-ratelimit-"
    return RateLimitInfo(
        requests_limit=_int(headers, prefix + "requests-limit"),
        requests_remaining=_int(headers, prefix + "requests-remaining"),
        input_tokens_limit=_int(headers, prefix + "input-tokens-limit"),
        input_tokens_remaining=_int(headers, prefix + "input-tokens-remaining"),
        output_tokens_limit=_int(headers, prefix + "output-tokens-limit"),
        output_tokens_remaining=_int(headers, prefix + "output-tokens-remaining"),
    )


def usage_of(raw: Any) -> Usage:
    """Our ``Usage`` from an Anthropic usage block (a pydantic model or a dict)."""
    get = raw.get if isinstance(raw, dict) else (lambda k, d=None: getattr(raw, k, d))
    return Usage(
        input_tokens=int(get("input_tokens", 0) or 0),
        output_tokens=int(get("output_tokens", 0) or 0),
        cache_read_tokens=int(get("cache_read_input_tokens", 0) or 0),
        cache_write_tokens=int(get("cache_creation_input_tokens", 0) or 0),
    )


def text_of(content: Any) -> str:
    """The text blocks of a message, joined (thinking and tool blocks are skipped)."""
    return "".join(str(getattr(b, "text", "")) for b in content if getattr(b, "type", "") == "text")


def classify(exc: Exception) -> Failure:
    """Map an SDK exception to a retry decision."""
    if isinstance(exc, anthropic.APIStatusError):
        headers = exc.response.headers
        error = ProviderHTTPError(
            exc.api_message or str(exc),
            status=exc.status_code,
            body=exc.body if isinstance(exc.body, str) else None,
            request_id=exc.request_id,
            code=exc.error_code or exc.type,
        )
        if exc.status_code == 429:
            if exc.error_code == SPEND_CAP_CODE:
                return Failure(
                    "fatal",
                    SpendCapReached(
                        "Anthropic spend limit reached: no more calls until the limit is raised or the "
                        "billing period resets",
                        status=429,
                        request_id=exc.request_id,
                        code=SPEND_CAP_CODE,
                    ),
                )
            return Failure("throttled", error, retry_after(headers))
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return Failure("overloaded", error, retry_after(headers))
        return Failure("fatal", error)
    if isinstance(exc, anthropic.APIConnectionError):  # its APITimeoutError too: sent or not, see there
        return connection_failure(exc)
    return Failure("fatal", exc)


def user_content(request: ProviderRequest) -> str | list[dict[str, Any]]:
    """The user turn: plain text, or image blocks (base64 ``source``) followed by the text — Anthropic
    reads images best when they come before the question about them."""
    if not request.images:
        return request.user
    blocks: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.media_type,
                "data": base64.b64encode(image.data).decode("ascii"),
            },
        }
        for image in request.images
    ]
    return [*blocks, {"type": "text", "text": request.user}]


class AnthropicProvider:
    """``complete`` = one Messages call; batches = Message Batches API."""

    name = "anthropic"
    supports_batch = True

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.policy = policy or RetryPolicy()
        register(api_key)  # an error body that echoes the request must not store the key
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
        )

    def _params(self, request: ProviderRequest) -> dict[str, Any]:
        system: dict[str, Any] = {"type": "text", "text": request.system}
        if request.cache_system:
            # Only helps once the prefix is over the model's minimum (512 tokens on Haiku 5.5); below it
            # the API silently ignores the marker, so it is safe to always send.
            system["cache_control"] = {"type": "ephemeral"}
        return {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": [system],
            "messages": [{"role": "user", "content": user_content(request)}],
            # Thinking tokens are billed as output; card writing does not need them.
            "thinking": {"type": "disabled"},
        }

    async def complete(self, request: ProviderRequest, events: RetryEvents | None = None) -> ProviderResponse:
        """One Messages API call with the shared retry policy."""
        started = time.monotonic()

        async def send() -> Any:
            return await self.client.messages.with_raw_response.create(**self._params(request))

        raw, retries = await with_retries(
            send, classify, self.policy, events, what=f"anthropic {request.model}"
        )
        message = await raw.parse()
        return ProviderResponse(
            text=text_of(message.content),
            usage=usage_of(message.usage),
            model=message.model,
            request_id=raw.headers.get("request-id"),
            stop_reason=message.stop_reason,
            latency_s=time.monotonic() - started,
            retries=retries,
            limits=limits_from_headers(raw.headers),
        )

    async def submit_batch(self, requests: list[tuple[str, ProviderRequest]]) -> str:
        """Create a Message Batch (up to 100,000 requests); returns its id."""

        async def send() -> Any:
            return await self.client.messages.batches.create(
                requests=[{"custom_id": cid, "params": self._params(r)} for cid, r in requests]  # type: ignore[typeddict-item]
            )

        batch, _ = await with_retries(send, classify, self.policy, None, what="anthropic batch create")
        return str(batch.id)

    async def batch_done(self, batch_id: str) -> bool:
        """Poll the batch's processing status."""

        async def send() -> Any:
            return await self.client.messages.batches.retrieve(batch_id)

        batch, _ = await with_retries(send, classify, self.policy, None, what="anthropic batch poll")
        return bool(batch.processing_status == "ended")

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]:
        """Stream the JSONL results; errored, expired and canceled requests carry the reason."""
        outcomes: list[BatchOutcome] = []
        stream = await self.client.messages.batches.results(batch_id)
        async for line in stream:
            result = line.result
            if result.type == "succeeded":
                message = result.message
                text = text_of(message.content)
                response = ProviderResponse(
                    text=text,
                    usage=usage_of(message.usage),
                    model=message.model,
                    request_id=message.id,
                    stop_reason=message.stop_reason,
                )
                outcomes.append(BatchOutcome(line.custom_id, response))
            elif result.type == "errored":
                detail = getattr(result.error, "error", None)
                reason = getattr(detail, "message", None) or str(result.error)
                outcomes.append(BatchOutcome(line.custom_id, None, f"errored: {reason}"))
            else:
                outcomes.append(BatchOutcome(line.custom_id, None, result.type))
        return outcomes

    async def close(self) -> None:
        await self.client.close()
