"""LLM sandbox server: Anthropic and OpenAI wire formats on loopback, behaving like a real provider."""

from __future__ import annotations

from aimanager_sandbox.llm.app import create_app
from aimanager_sandbox.llm.config import PERFECT, SandboxConfig, perfect
from aimanager_sandbox.llm.state import Fault, SandboxState

__all__ = ["PERFECT", "Fault", "SandboxConfig", "SandboxState", "create_app", "perfect"]
