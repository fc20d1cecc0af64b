"""Errors of the LLM gateway: every leaf is an ``LLMError``; those that came from HTTP are also
``RemoteHTTPError`` so callers can quote status and request id to the provider's support."""

from __future__ import annotations

from aimanager.errors import LLMError, RemoteHTTPError


class ProviderHTTPError(LLMError, RemoteHTTPError):
    """A provider answered with an error status the gateway does not retry (4xx other than 429)."""


class RateLimited(ProviderHTTPError):
    """429 ``rate_limit_error`` that outlived the retries; ``retry_after`` is the server's hint in seconds."""

    retry_after: float | None = None


class SpendCapReached(ProviderHTTPError):
    """429 with ``enforced_spend_limit_reached``: the organisation's spend cap is hit.

    Retrying cannot help until the provider's billing period resets, so the gateway stops every further
    call instead of retrying and the run ends with this error.
    """


class ProviderOverloaded(ProviderHTTPError):
    """529 ``overloaded_error`` (or repeated 5xx) after the retries: fall back to another model."""


class ProviderUnavailable(LLMError):
    """The provider could not be reached (connection refused, timeout) after the retries."""


class ProviderTimedOut(ProviderUnavailable):
    """The last attempt was sent and then timed out or lost its connection: the provider may have
    generated — and billed — the answer we never got, so its ledger rows are kept at worst case."""


class BudgetExceeded(LLMError):
    """A partner's monthly AI budget is used up; that partner's AI work stops, others continue."""

    def __init__(self, partner_id: int, spent: object, budget: object) -> None:
        super().__init__(
            f"BudgetExceeded: partner {partner_id} spent ${spent} of its ${budget} monthly AI budget"
        )
        self.partner_id = partner_id


class InvalidAnswer(LLMError):
    """The model's answer could not be parsed into the requested format."""


class GatewayClosed(LLMError):
    """The gateway was closed or stopped (e.g. by a spend cap) and takes no more work."""


class RoutingError(LLMError):
    """No usable model for a task: the route names only providers that are not configured."""
