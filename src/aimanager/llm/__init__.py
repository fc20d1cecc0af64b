"""The LLM gateway: providers, router, packer, cache, limiter, Batch API path, ledger and budgets.

Public API::

    gw = await Gateway.create(GatewayConfig.from_settings(get_settings()), engine)
    results = await gw.generate_cards([CardRequest(item_id, partner_id, facts)])
    narrative = await gw.write_narrative(NarrativeRequest(partner_id=1, facts={...}))
    gw.stats(); await gw.close()
"""

from __future__ import annotations

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
from aimanager.llm.limiter import Limits
from aimanager.llm.types import (
    CardRequest,
    CardResult,
    GatewayStats,
    Narrative,
    NarrativeRequest,
    Usage,
)

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
]
