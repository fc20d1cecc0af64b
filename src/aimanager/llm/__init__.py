"""The LLM gateway: providers, router, packer, cache, limiter, Batch API path, ledger and budgets.

Public API::

    gw = await Gateway.create(GatewayConfig.from_settings(get_settings()), engine)
    results = await gw.generate_cards([CardRequest(item_id, partner_id, facts)])
    narrative = await gw.write_narrative(NarrativeRequest(partner_id=1, facts={...}))
    gw.stats(); await gw.close()

The names below are loaded on first use (PEP 562), so importing a light submodule such as the offline
writer (``aimanager.llm.offline``, also the LLM sandbox's brain) does not load the gateway, SQLAlchemy
or the provider SDKs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimanager.llm.buckets import Limits
    from aimanager.llm.config import GatewayConfig
    from aimanager.llm.errors import (
        BudgetExceeded,
        GatewayClosed,
        InvalidAnswer,
        ProviderHTTPError,
        ProviderOverloaded,
        ProviderUnavailable,
        RateLimited,
        RoutingError,
        SpendCapReached,
    )
    from aimanager.llm.gateway import Gateway
    from aimanager.llm.types import (
        CardRequest,
        CardResult,
        GatewayStats,
        Narrative,
        NarrativeRequest,
        Usage,
    )
    from aimanager.llm.vision_flow import VisionRequest, VisionResult

__all__ = [
    "BudgetExceeded",
    "CardRequest",
    "CardResult",
    "Gateway",
    "GatewayClosed",
    "GatewayConfig",
    "GatewayStats",
    "InvalidAnswer",
    "Limits",
    "Narrative",
    "NarrativeRequest",
    "ProviderHTTPError",
    "ProviderOverloaded",
    "ProviderUnavailable",
    "RateLimited",
    "RoutingError",
    "SpendCapReached",
    "Usage",
    "VisionRequest",
    "VisionResult",
]

# Public name → the submodule that defines it (a test checks both lists agree).
_HOMES = {
    "BudgetExceeded": "errors",
    "CardRequest": "types",
    "CardResult": "types",
    "Gateway": "gateway",
    "GatewayClosed": "errors",
    "GatewayConfig": "config",
    "GatewayStats": "types",
    "InvalidAnswer": "errors",
    "Limits": "limiter",
    "Narrative": "types",
    "NarrativeRequest": "types",
    "ProviderHTTPError": "errors",
    "ProviderOverloaded": "errors",
    "ProviderUnavailable": "errors",
    "RateLimited": "errors",
    "RoutingError": "errors",
    "SpendCapReached": "errors",
    "Usage": "types",
    "VisionRequest": "vision_flow",
    "VisionResult": "vision_flow",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
