"""Providers behind one async protocol: ``anthropic`` and ``openai`` (official SDKs) and ``offline``."""

from __future__ import annotations

from aimanager.llm.providers.base import Provider, RetryEvents, RetryPolicy

__all__ = ["Provider", "RetryEvents", "RetryPolicy"]
