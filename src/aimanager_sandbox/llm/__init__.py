"""LLM sandbox server: Anthropic and OpenAI wire formats on loopback, answers from the offline writer."""

from __future__ import annotations

from aimanager_sandbox.llm.app import create_app
from aimanager_sandbox.llm.state import Fault, SandboxConfig, SandboxState

__all__ = ["Fault", "SandboxConfig", "SandboxState", "create_app"]
