"""Errors of the image services (under ``AIManagerError`` → ``MediaError``)."""

from __future__ import annotations

from aimanager.errors import MediaError

__all__ = ["BadImage", "FetchFailed", "MediaError", "StorageFailed"]


class BadImage(MediaError):
    """Bytes that are not an image we can use (undecodable, wrong format or size): the row's fault,
    retrying cannot help."""


class FetchFailed(MediaError):
    """A photo could not be downloaded; ``transient`` when trying again later may work (timeouts, 5xx)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class StorageFailed(MediaError):
    """The object store refused or could not be reached."""
