"""Cursor pagination: an opaque token of the last row's sort key; ``next_cursor`` null on the last page.

The token is URL-safe base64 of a small JSON list (not signed: it only says where to continue, and
every query it feeds is still scoped by the caller's partners). A malformed cursor is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from aimanager.api.errors import ApiError

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode(*key: Any) -> str:
    parts = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    return base64.urlsafe_b64encode(json.dumps(parts, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str | None, shape: Sequence[type]) -> tuple[Any, ...] | None:
    """The key a cursor carries, each part converted to ``shape``'s type; None for no cursor."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(shape):
            raise ValueError("wrong length")
        out: list[Any] = []
        for value, kind in zip(raw, shape, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(str(value))
                if parsed.tzinfo is None:
                    raise ValueError("naive time")
                out.append(parsed)
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("not an int")
                out.append(value)
            else:
                out.append(kind(value))
        return tuple(out)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError("the cursor is not one this API issued") from None


def page(items: list[T], limit: int, key: Any) -> Page[T]:
    """A page of at most ``limit`` items from ``limit + 1`` fetched; ``key(item)`` → the cursor's key."""
    more = len(items) > limit
    items = items[:limit]
    cursor = encode(*key(items[-1])) if more and items else None
    return Page[T](items=items, next_cursor=cursor)
