"""Value types of the gateway: what callers send and get back, and what providers exchange."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from aimanager.domain.cards import CardDraft, ProductFacts

Path = Literal["realtime", "batch", "cache"]
# Why a card request failed, so its job can do the right thing: ``call`` (no model answered: outage,
# limits — try again later), ``answer`` (answers kept failing the checks), ``budget`` (the partner's AI
# budget is used up: nothing to retry until it is raised), ``internal`` (a bug or a store failure),
# ``pending`` (in a provider batch still running: look again later; it is never submitted twice).
FailureKind = Literal["call", "answer", "budget", "internal", "pending"]
Validator = Callable[[ProductFacts, CardDraft], list[str]]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call in Anthropic's shape: ``input_tokens`` exclude cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True, slots=True)
class ModelRef:
    """One entry of a route: a provider name and its model id (``"anthropic:claude-haiku-5-5"``)."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        provider, sep, model = text.partition(":")
        if not sep or not provider or not model:
            raise ValueError(f"model reference {text!r} is not 'provider:model'")
        return cls(provider.strip(), model.strip())

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True, slots=True)
class ImageInput:
    """One image sent with a request (the vision tier): the encoded bytes, their media type and pixel
    size (the size decides what the provider bills, see ``tokens.image_tokens``)."""

    data: bytes
    media_type: str
    width: int
    height: int

    def __repr__(self) -> str:  # never the bytes in a log line
        return f"ImageInput({self.media_type}, {self.width}×{self.height}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """A provider-neutral single-turn request: a cacheable system prefix and one user message (with
    ``images`` before its text, as image blocks / ``image_url`` parts)."""

    model: str
    system: str
    user: str
    max_tokens: int
    # Hint that the system prefix is shared by many calls (Anthropic ``cache_control``).
    cache_system: bool = True
    images: tuple[ImageInput, ...] = ()


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Limits the provider reported in its response headers (None when absent)."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    input_tokens_limit: int | None = None
    input_tokens_remaining: int | None = None
    output_tokens_limit: int | None = None
    output_tokens_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """The text a model answered, its usage and what the HTTP layer told us."""

    text: str
    usage: Usage
    model: str
    request_id: str | None = None
    stop_reason: str | None = None
    latency_s: float = 0.0
    retries: int = 0
    limits: RateLimitInfo = field(default_factory=RateLimitInfo)

    @property
    def cut(self) -> bool:
        """True when the answer ended at ``max_tokens`` (Anthropic ``stop_reason == "max_tokens"``,
        OpenAI ``finish_reason == "length"``): it is incomplete, whatever its text looks like."""
        return self.stop_reason in CUT_STOP_REASONS


# Stop reasons that mean "the answer was cut by max_tokens", across providers.
CUT_STOP_REASONS = frozenset({"max_tokens", "length"})


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """One result of a provider batch, matched back by ``custom_id``."""

    custom_id: str
    response: ProviderResponse | None
    error: str | None = None  # errored | expired | canceled, with the provider's message


@dataclass(slots=True)
class CardRequest:
    """One card to write. ``priority_low`` work may take the (half-price, slower) Batch API path."""

    item_id: str
    partner_id: int
    facts: ProductFacts
    priority_low: bool = False
    validator: Validator | None = None
    task_kind: str = "card"


@dataclass(slots=True)
class CardResult:
    """The outcome of one ``CardRequest``: a draft, or ``error`` with a reason a person can act on."""

    item_id: str
    draft: CardDraft | None
    model: str
    path: Path
    error: str | None = None
    escalated: bool = False
    # Things done to the input or output on the way, e.g. "description cut from 102400 to 4000 chars".
    notes: list[str] = field(default_factory=list)
    failure: FailureKind | None = None
    # With ``error``: the last answer that failed the request's checks. The caller may use it where a
    # narrower check passes (a card that breaks one marketplace's rule is still good for the others).
    rejected_draft: CardDraft | None = None
    # With failure "call": seconds until calling again makes sense (a spend-cap pause), if known.
    retry_after_s: float | None = None


@dataclass(slots=True)
class NarrativeRequest:
    """An analytics narrative written from ``facts`` (metric name → value) in each language."""

    partner_id: int
    facts: dict[str, Any]
    languages: tuple[str, ...] = ("ru", "uz")
    task_kind: str = "narrative"


@dataclass(slots=True)
class Narrative:
    """Narrative text per language (empty string for a language not asked for)."""

    ru: str = ""
    uz: str = ""
    model: str = ""
    path: Path = "realtime"


@dataclass(slots=True)
class GatewayStats:
    """Counters for the demo report and the benchmark."""

    calls: int = 0
    items: int = 0
    cache_hits: int = 0
    batch_calls: int = 0
    retries: int = 0
    fallbacks: int = 0
    escalations: int = 0
    reasked_items: int = 0
    failed_items: int = 0
    budget_refusals: int = 0
    # Answers that ended at max_tokens, and the complete items kept from them (not asked again).
    cut_calls: int = 0
    salvaged_items: int = 0
    # Calls answered by a model priced above the route's first one (after an outage or a cooldown), and
    # what they cost beyond the same tokens at the first model's price.
    pricier_fallback_calls: int = 0
    fallback_extra_usd: Decimal = Decimal(0)
    escalation_usd: Decimal = Decimal(0)  # cost of the calls made at the escalation tier
    probe_calls: int = 0  # 1-token requests that learned a model's rate limits before a large call
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (cost as a string, so nothing rounds it through float)."""
        return {
            "calls": self.calls,
            "items": self.items,
            "cache_hits": self.cache_hits,
            "batch_calls": self.batch_calls,
            "retries": self.retries,
            "fallbacks": self.fallbacks,
            "escalations": self.escalations,
            "reasked_items": self.reasked_items,
            "failed_items": self.failed_items,
            "budget_refusals": self.budget_refusals,
            "cut_calls": self.cut_calls,
            "salvaged_items": self.salvaged_items,
            "pricier_fallback_calls": self.pricier_fallback_calls,
            "fallback_extra_usd": str(self.fallback_extra_usd),
            "escalation_usd": str(self.escalation_usd),
            "probe_calls": self.probe_calls,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "cost_usd": str(self.cost_usd),
        }
