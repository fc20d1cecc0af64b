"""The provider factory: configuration in, one provider instance per configured provider name out.

The SDK-backed providers are imported only when configured, so the offline setup loads no SDK.
"""

from __future__ import annotations

from aimanager.llm.config import GatewayConfig
from aimanager.llm.providers.base import Provider, RetryPolicy
from aimanager.llm.providers.offline import OfflineProvider
from aimanager.retry import Backoff


def build_providers(config: GatewayConfig) -> dict[str, Provider]:
    """Provider instances for every configured provider name."""
    policy = RetryPolicy(
        config.max_retries, Backoff(base=config.retry_base_delay_s, cap=8.0), config.max_retry_after_s
    )
    providers: dict[str, Provider] = {}
    for name in config.providers:
        if name == "offline":
            providers[name] = OfflineProvider()
        elif name == "anthropic":
            from aimanager.llm.providers.anthropic import AnthropicProvider

            providers[name] = AnthropicProvider(
                api_key=config.anthropic_api_key,
                base_url=config.anthropic_base_url,
                policy=policy,
                timeout=config.request_timeout_s,
            )
        elif name == "openai":
            from aimanager.llm.providers.openai import OpenAIProvider

            providers[name] = OpenAIProvider(
                api_key=config.openai_api_key,
                base_url=config.openai_base_url,
                policy=policy,
                timeout=config.request_timeout_s,
            )
    return providers
