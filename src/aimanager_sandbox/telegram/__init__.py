"""A loopback Telegram Bot API (``sendMessage``, ``getMe``) for the alerts: real request and answer
shapes, 401/404 for bad tokens, 429 with ``parameters.retry_after``, and ``/_sandbox/messages`` to
read what arrived. ``create_app(config)``; served by ``aimanager sandbox telegram`` or a
``BackgroundServer`` in tests."""

from aimanager_sandbox.telegram.app import create_app
from aimanager_sandbox.telegram.state import TelegramConfig, TelegramState

__all__ = ["TelegramConfig", "TelegramState", "create_app"]
