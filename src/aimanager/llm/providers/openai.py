"""OpenAI provider on the official ``openai`` SDK: Chat Completions and the Batch API.

``base_url`` makes it the client for any OpenAI-compatible server (vLLM, Ollama, llama.cpp server).
Usage is converted to Anthropic's shape: ``prompt_tokens`` include the cached ones, ours do not.
"""

from __future__ import annotations

import base64
import inspect
import json
import time
from collections.abc import Mapping
from typing import Any

import openai

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

# OpenAI's equivalent of a spend cap: the account's quota or credit is exhausted.
SPEND_CAP_CODE = "insufficient_quota"


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def limits_from_headers(headers: Mapping[str, str]) -> RateLimitInfo:
    """The ``x-ratelimit-*`` headers (OpenAI has one token bucket; we read it as the input one)."""
    return RateLimitInfo(
        requests_limit=_int(headers, "x-ratelimit-limit-requests"),
        requests_remaining=_int(headers, "x-ratelimit-remaining-requests"),
        input_tokens_limit=_int(headers, "x-ratelimit-limit-tokens"),
        input_tokens_remaining=_int(headers, "x-ratelimit-remaining-tokens"),
    )


def usage_of(raw: Any) -> Usage:
    """Our ``Usage`` from a Chat Completions usage block (model or dict)."""
    if raw is None:
        return Usage()
    data = raw if isinstance(raw, dict) else raw.model_dump()
    cached = int(((data.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0) - cached,
        output_tokens=int(data.get("completion_tokens") or 0),
        cache_read_tokens=cached,
    )


def classify(exc: Exception) -> Failure:
    """Map an SDK exception to a retry decision."""
    if isinstance(exc, openai.APIStatusError):
        code = getattr(exc, "code", None)
        error = ProviderHTTPError(
            str(exc),
            status=exc.status_code,
            request_id=exc.request_id,
            code=code or getattr(exc, "type", None),
        )
        if exc.status_code == 429:
            if code == SPEND_CAP_CODE:
                return Failure(
                    "fatal",
                    SpendCapReached(
                        "OpenAI quota exhausted (insufficient_quota): no more calls until it is raised",
                        status=429,
                        request_id=exc.request_id,
                        code=SPEND_CAP_CODE,
                    ),
                )
            return Failure("throttled", error, retry_after(exc.response.headers))
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return Failure("overloaded", error, retry_after(exc.response.headers))
        return Failure("fatal", error)
    if isinstance(exc, openai.APIConnectionError):  # its APITimeoutError too: sent or not, see there
        return connection_failure(exc)
    return Failure("fatal", exc)


def classify_upload(exc: Exception) -> Failure:
    """``classify`` for a file upload: it generates nothing, so a timed-out one bills nothing either
    (the batch's rows are dropped if the upload fails, kept if the batch create may have gone through)."""
    failure = classify(exc)
    return Failure("unavailable", exc) if failure.kind == "timeout" else failure


def user_content(request: ProviderRequest) -> str | list[dict[str, Any]]:
    """The user turn: plain text, or the text followed by ``image_url`` parts carrying data URLs."""
    if not request.images:
        return request.user
    parts: list[dict[str, Any]] = [{"type": "text", "text": request.user}]
    for image in request.images:
        data = base64.b64encode(image.data).decode("ascii")
        parts.append({"type": "image_url", "image_url": {"url": f"data:{image.media_type};base64,{data}"}})
    return parts


class OpenAIProvider:
    """``complete`` = one Chat Completions call (JSON mode); batches = files + Batch API."""

    name = "openai"
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
        self.client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed-for-local-servers",
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
        )

    @staticmethod
    def _body(request: ProviderRequest) -> dict[str, Any]:
        return {
            "model": request.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": user_content(request)},
            ],
            "max_completion_tokens": request.max_tokens,
            "response_format": {"type": "json_object"},
        }

    async def complete(self, request: ProviderRequest, events: RetryEvents | None = None) -> ProviderResponse:
        """One Chat Completions call with the shared retry policy."""
        started = time.monotonic()

        async def send() -> Any:
            return await self.client.chat.completions.with_raw_response.create(**self._body(request))

        raw, retries = await with_retries(send, classify, self.policy, events, what=f"openai {request.model}")
        # openai's raw responses parse synchronously (anthropic's are awaitable); accept both shapes.
        parsed = raw.parse()
        completion = await parsed if inspect.isawaitable(parsed) else parsed
        choice = completion.choices[0]
        return ProviderResponse(
            text=choice.message.content or "",
            usage=usage_of(completion.usage),
            model=completion.model,
            request_id=raw.headers.get("x-request-id"),
            stop_reason=choice.finish_reason,
            latency_s=time.monotonic() - started,
            retries=retries,
            limits=limits_from_headers(raw.headers),
        )

    async def submit_batch(self, requests: list[tuple[str, ProviderRequest]]) -> str:
        """Upload a JSONL file of requests and create a 24 h batch over it."""
        lines = [
            json.dumps(
                {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": self._body(r)},
                ensure_ascii=False,
            )
            for cid, r in requests
        ]
        payload = ("\n".join(lines) + "\n").encode()

        async def upload() -> Any:
            return await self.client.files.create(file=("batch.jsonl", payload), purpose="batch")

        file, _ = await with_retries(upload, classify_upload, self.policy, None, what="openai file upload")

        async def create() -> Any:
            return await self.client.batches.create(
                input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
            )

        batch, _ = await with_retries(create, classify, self.policy, None, what="openai batch create")
        return str(batch.id)

    async def batch_done(self, batch_id: str) -> bool:
        """True once the batch is completed, failed, expired or cancelled."""

        async def send() -> Any:
            return await self.client.batches.retrieve(batch_id)

        batch, _ = await with_retries(send, classify, self.policy, None, what="openai batch poll")
        return batch.status in ("completed", "failed", "expired", "cancelled")

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]:
        """Outcomes from the output and error files; requests in neither are reported as expired."""
        batch = await self.client.batches.retrieve(batch_id)
        outcomes: list[BatchOutcome] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.client.files.content(file_id)
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                response = record.get("response") or {}
                body = response.get("body") or {}
                if response.get("status_code") == 200 and body.get("choices"):
                    choice = body["choices"][0]
                    outcomes.append(
                        BatchOutcome(
                            record["custom_id"],
                            ProviderResponse(
                                text=(choice.get("message") or {}).get("content") or "",
                                usage=usage_of(body.get("usage")),
                                model=body.get("model", ""),
                                request_id=response.get("request_id"),
                                stop_reason=choice.get("finish_reason"),
                            ),
                        )
                    )
                else:
                    error = record.get("error") or body.get("error") or {}
                    outcomes.append(
                        BatchOutcome(record["custom_id"], None, f"errored: {error.get('message', error)}")
                    )
        return outcomes

    async def close(self) -> None:
        await self.client.close()
