"""Marketplace credentials at rest: Fernet (AES-128-CBC + HMAC) from the `cryptography` package.

Where the key comes from depends on who shares the database:

* embedded (SQLite): ``AIMANAGER_SECRET_KEY``, else a key file (``AIMANAGER_SECRET_KEY_FILE``, default
  ``.aimanager.key``) created on first use — one process family, one directory;
* shared (PostgreSQL): ``AIMANAGER_SECRET_KEY`` only. A key file made by one host would differ from
  another host's, and every push of the other's accounts would die with "cannot be decrypted"; so no
  key is ever generated there, and ``init``/``worker`` refuse to start without it.

``reencrypt_all`` moves every stored account to a new key in one transaction (``aimanager keys rotate``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import MarketplaceIntegration
from aimanager.errors import ConfigError
from aimanager.settings import Settings

SHARED_KEY_REQUIRED = (
    "AIMANAGER_SECRET_KEY must be set when the database is shared (not SQLite): every host needs the "
    "same key; make one with `aimanager keys generate`"
)


class CredentialBox:
    """Encrypts and decrypts credential dictionaries. Its repr never shows the key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError("AIMANAGER_SECRET_KEY is not a valid Fernet key") from exc

    def __repr__(self) -> str:
        return "CredentialBox(key=***)"

    def seal(self, credentials: dict[str, Any]) -> bytes:
        """Encrypt a credentials mapping."""
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        """Decrypt what :meth:`seal` produced."""
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken as exc:
            raise ConfigError("stored credentials cannot be decrypted with the configured key") from exc
        return data

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialBox:
        """Key from AIMANAGER_SECRET_KEY, else from (or into) the key file — embedded mode only."""
        if settings.secret_key is not None:
            return cls(settings.secret_key.get_secret_value().encode())
        if not settings.is_sqlite:
            raise ConfigError(SHARED_KEY_REQUIRED)
        path = Path(settings.secret_key_file)
        if path.exists():
            return cls(path.read_bytes().strip())
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return cls(key)


def shared_key_problem(settings: Settings) -> str | None:
    """Why this process must not start (a shared database without AIMANAGER_SECRET_KEY), or ``None``."""
    if settings.secret_key is None and not settings.is_sqlite:
        return SHARED_KEY_REQUIRED
    return None


def generate_key() -> str:
    """A fresh Fernet key (urlsafe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode()


def write_key_file(path: Path, key: str) -> None:
    """Replace the key file atomically, readable by its owner only."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    os.replace(tmp, path)


Sealed = tuple[Any, str, str]
"""A table holding sealed secrets: (ORM model, column attribute name, what to call a row in errors)."""


def sealed_columns() -> list[Sealed]:
    """The store's own sealed column; layers above add theirs (alert channel secrets)."""
    return [(MarketplaceIntegration, "credentials_encrypted", "account")]


async def reencrypt_all(
    session: AsyncSession, old: CredentialBox, new: CredentialBox, tables: list[Sealed] | None = None
) -> int:
    """Seal every stored secret with ``new`` instead of ``old``; returns how many rows changed.

    All or nothing, in the caller's transaction: every row is opened with ``old`` first (any that does
    not open is named and nothing changes), then sealed with ``new`` and opened again to check.
    ``tables`` defaults to ``sealed_columns()``.
    """
    found: list[tuple[Any, str, dict[str, Any]]] = []
    unreadable: list[str] = []
    for model, column, label in tables or sealed_columns():
        rows = (await session.execute(select(model).where(getattr(model, column).is_not(None)))).scalars()
        for row in rows:
            try:
                found.append((row, column, old.open(getattr(row, column))))
            except ConfigError:
                unreadable.append(f"{label} {row.id}")
    if unreadable:
        raise ConfigError(
            f"{len(unreadable)} secret(s) cannot be decrypted with the current key, nothing changed: "
            + ", ".join(unreadable[:10])
        )
    for row, column, plain in found:
        setattr(row, column, new.seal(plain))
        if new.open(getattr(row, column)) != plain:  # cannot happen; checked all the same
            raise ConfigError(f"re-encrypted row {row.id} does not read back, nothing changed")
    await session.flush()
    return len(found)
