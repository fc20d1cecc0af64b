"""Typed connector errors: the ``ConnectorError`` subtree.

Every error that came from an HTTP answer keeps the status, a bounded body, the marketplace's own
error code and its request id (``RemoteHTTPError``), plus the marketplace. Messages never contain
credentials: the HTTP helper scrubs secret values out of bodies before building these.

    ConnectorError
    ├── MarketplaceHTTPError            any non-2xx answer not covered below
    │   ├── AuthError                   401/403: bad, expired or under-scoped token
    │   ├── ValidationRejected          400/409/413/422: the request itself was refused (not retried)
    │   ├── NotFoundError               404
    │   ├── RateLimited                 429 (YM: 420) still refused after the retries
    │   └── TransientError              5xx / timeouts / connection errors after the retries
    ├── TaskFailed                      an async task ended failed (all items)
    ├── TaskTimeout                     an async task did not finish in time
    └── CurrencyNotConfirmed            a price in a currency the account has not confirmed (nothing sent)

    ConfigError
    └── AccountConfigError              credentials or settings of an account failed validation
"""

from __future__ import annotations

from typing import Any

from aimanager.errors import ConfigError, ConnectorError, RemoteHTTPError


class MarketplaceHTTPError(RemoteHTTPError, ConnectorError):
    """A marketplace answered with an error (or could not be reached)."""

    def __init__(
        self,
        message: str,
        *,
        marketplace: str | None = None,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body, request_id=request_id, code=code)
        self.marketplace = marketplace

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthError(MarketplaceHTTPError):
    """401/403: the token is invalid, expired or lacks the category/scope for this method."""


class ValidationRejected(MarketplaceHTTPError):
    """The marketplace refused the request as malformed or invalid; retrying cannot help."""


class NotFoundError(MarketplaceHTTPError):
    """404: unknown path or object."""


class RateLimited(MarketplaceHTTPError):
    """The rate limit was hit and stayed hit through the retries. ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(MarketplaceHTTPError):
    """A 5xx, timeout or connection failure that persisted through the retries."""


class TaskFailed(ConnectorError):
    """An async marketplace task ended in failure; ``errors`` holds the per-item reasons."""

    def __init__(self, message: str, *, task_id: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.errors = errors or []


class TaskTimeout(ConnectorError):
    """An async task was still pending when the caller's timeout ran out."""

    def __init__(self, message: str, *, task_id: str) -> None:
        super().__init__(message)
        self.task_id = task_id


class CurrencyNotConfirmed(ConnectorError):
    """A price was to go out in a currency the marketplace has not confirmed for this account.

    Raised *before* anything is sent: ``currency`` is what the caller priced in, ``confirmed`` what the
    account reports (``None`` when it could not be read, e.g. an account with no priced product yet
    and no ``currency_code`` setting). Pushing anyway would set the number in the wrong money.
    """

    def __init__(
        self, message: str, *, marketplace: str, currency: str | None, confirmed: str | None
    ) -> None:
        super().__init__(message)
        self.marketplace = marketplace
        self.currency = currency
        self.confirmed = confirmed

    @property
    def reason(self) -> str:
        """What a task that could not go out because of it says."""
        settles = self.confirmed or "an unknown currency"
        return f"currency: the account settles in {settles}, priced in {self.currency}"


class AccountConfigError(ConfigError):
    """An account's credentials or settings are invalid; raised before anything is saved or sent.

    ``problems`` maps each offending field (``"credentials.api_key"``, ``"settings.shop_id"``) to what
    is wrong with it. The message names the marketplace and the fields but never a value: the value
    of a credential field is a secret.
    """

    def __init__(self, marketplace: str, problems: dict[str, str]) -> None:
        listed = "; ".join(f"{field}: {why}" for field, why in problems.items())
        super().__init__(f"invalid {marketplace} account: {listed}")
        self.marketplace = marketplace
        self.problems = problems


def error_for_status(status: int) -> type[MarketplaceHTTPError]:
    """The error class for an HTTP status (429/420 → ``RateLimited``, 5xx → ``TransientError``)."""
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status in (420, 429):
        return RateLimited
    if status >= 500:
        return TransientError
    if 400 <= status < 500:
        return ValidationRejected
    return MarketplaceHTTPError
