"""Marketplace credentials at rest: Fernet (AES-128-CBC + HMAC) from the `cryptography` package."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from aimanager.errors import ConfigError
from aimanager.settings import Settings


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
        """Key from AIMANAGER_SECRET_KEY, else from (or into) the key file for the embedded mode."""
        if settings.secret_key is not None:
            return cls(settings.secret_key.get_secret_value().encode())
        path = Path(settings.secret_key_file)
        if path.exists():
            return cls(path.read_bytes().strip())
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return cls(key)
