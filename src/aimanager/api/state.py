"""What the application holds while it serves: the engine, sessions, the job backend, settings.

Built once per process by the app's lifespan (``app.create_app``) and reached by routes through the
``state`` dependency, so tests can hand in an engine of their own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import session_factory
from aimanager.jobs import SQLBackend
from aimanager.logs import get_logger
from aimanager.settings import Settings

log = get_logger("aimanager.api")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    backend: SQLBackend
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    session_key: bytes = field(init=False)
    _box: CredentialBox | None = field(default=None, init=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.session_key = console_session_key(self.settings)

    @property
    def box(self) -> CredentialBox:
        """The credential box, opened on first use (only account writes need it)."""
        if self._box is None:
            self._box = CredentialBox.from_settings(self.settings)
        return self._box


def console_session_key(settings: Settings) -> bytes:
    """The key console session cookies are signed with, derived from the operator's secret key (so
    every server process and restart accepts the same cookies); without one, a per-process key, and
    console logins last until the server restarts."""
    secret: bytes | None = None
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
    elif settings.secret_key_file.is_file():
        secret = settings.secret_key_file.read_bytes().strip()
    if not secret:
        log.warning("api.session_key_ephemeral", reason="no AIMANAGER_SECRET_KEY and no key file")
        return os.urandom(32)
    # A key of its own: a leaked session signature says nothing about the credential key.
    return hashlib.sha256(b"aimanager console session\x00" + secret).digest()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.aim
    return state
