"""One root exception for the whole product, with a subtree per component.

Components define their own leaves (``jobs.errors``, ``llm.errors``, ``connectors.errors``) under the
branches declared here, so ``except AIManagerError`` catches everything the product raises on purpose.
"""

from __future__ import annotations

from typing import Any

from aimanager.redact import redact


class AIManagerError(Exception):
    """Root of every error AI Manager raises deliberately."""


class ConfigError(AIManagerError):
    """Settings or a configuration file are missing or invalid."""


class StoreError(AIManagerError):
    """The database layer failed."""


class DatabaseUnavailable(StoreError):
    """The database at the configured URL cannot be reached or opened."""


class JobError(AIManagerError):
    """Branch for the job engine (see ``aimanager.jobs.errors``)."""


class LLMError(AIManagerError):
    """Branch for the LLM gateway (see ``aimanager.llm.errors``)."""


class ConnectorError(AIManagerError):
    """Branch for the marketplace connectors (see ``aimanager.connectors.errors``)."""


class PipelineError(AIManagerError):
    """Branch for the pipelines: import, planning, cards, pricing, stock, analytics."""


class MediaError(AIManagerError):
    """Branch for product images: fetching, checking, rendering, object storage (``aimanager.media``)."""


class RemoteHTTPError(AIManagerError):
    """Mixin-style base for errors that came from an HTTP answer.

    Keeps the status, a bounded copy of the body and the server's request id so that an operator can
    quote them to the provider's support. The body is cut to 2,000 characters: error bodies can echo
    whole requests back, and a log line is not the place for them.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        # Bodies can echo the request, credentials included: nothing durable keeps them.
        super().__init__(redact(message))
        self.status = status
        self.body = body if not isinstance(body, str) else redact(body[:2000])
        self.request_id = request_id
        self.code = code

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)
