"""Who is asking, and which partners they may see — the one place every query's tenancy comes from.

Callers authenticate with an API key (``Authorization: Bearer <token>`` or ``X-API-Key``) or a console
session cookie. Keys are 32 random bytes shown once; only their SHA-256 is stored. Console passwords
are Argon2id hashes (``argon2-cffi``). Roles:

* ``admin`` — everything, including API keys, users and the audit log;
* ``staff`` — every partner's data and operations, never secrets and no key or user management;
* ``partner`` — its own partner's data only: read, approve, upload its catalog, connect its accounts.

``scope`` turns the principal into a ``Scope``: ``partner_ids`` is ``None`` for the operator's roles
and the one partner for a partner. Routes never look at roles to filter data: they pass
``scope.partner_ids`` to the services, and resolve any partner named in a path or query through
``Scope.partner`` (another partner is a 404: its existence does not leak).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api.deps import db
from aimanager.api.errors import Forbidden, NotFound, Unauthorized
from aimanager.api.state import AppState, get_state
from aimanager.api.tables import ROLES, ApiKey, User
from aimanager.db.models import Partner
from aimanager.pipelines.services.directory import find_partner

TOKEN_PREFIX = "aim_"
SESSION_COOKIE = "aim_session"
SESSION_TTL_S = 12 * 3600
LAST_USED_PRECISION = timedelta(minutes=1)
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    kind: str  # key | user
    id: int
    name: str
    role: str
    partner_id: int | None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id} {self.name}"[:96]


# -- keys and passwords ------------------------------------------------------------------------------
def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_role(role: str, partner_id: int | None) -> None:
    """A role and its partner must agree: a partner credential names one, the operator's none."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "partner") != (partner_id is not None):
        raise ValueError("a partner role needs --partner; admin and staff take none")


# -- console session cookie --------------------------------------------------------------------------
def sign_session(key: bytes, user_id: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + SESSION_TTL_S)
    body = f"{user_id}.{expires}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_session(key: bytes, cookie: str, now: float | None = None) -> int | None:
    try:
        user_id, expires, mac = cookie.split(".")
        good = hmac.new(key, f"{user_id}.{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, mac) or int(expires) < (now or time.time()):
            return None
        return int(user_id)
    except ValueError:
        return None


# -- dependencies ------------------------------------------------------------------------------------
def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


async def _from_key(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.execute(
            select(ApiKey).where(ApiKey.token_sha256 == token_hash(token), ApiKey.revoked_at.is_(None))
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    now = datetime.now(UTC)
    # A write per request would serialise every read behind it (SQLite has one writer): a minute's
    # precision is enough to tell an unused key.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
        await session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        await session.commit()
    return Principal("key", row.id, row.name, row.role, row.partner_id)


async def _from_cookie(st: AppState, session: AsyncSession, cookie: str) -> Principal | None:
    user_id = read_session(st.session_key, cookie)
    if user_id is None:
        return None
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return None
    return Principal("user", user.id, user.login, user.role, user.partner_id)


async def optional_principal(request: Request, st: AppState = Depends(get_state)) -> Principal | None:
    """The caller, or None; remembered on the request for the audit log."""
    token = _bearer(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    found: Principal | None = None
    async with st.sessions() as session:
        if token:
            found = await _from_key(session, token)
        elif cookie:
            found = await _from_cookie(st, session, cookie)
    request.state.principal = found
    return found


async def principal(who: Principal | None = Depends(optional_principal)) -> Principal:
    if who is None:
        raise Unauthorized("give an API key (Authorization: Bearer …) or log in to the console")
    return who


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only ``roles``."""

    async def check(who: Principal = Depends(principal)) -> Principal:
        if who.role not in roles:
            raise Forbidden(f"the {who.role} role cannot do this")
        return who

    return check


operator = require("admin", "staff")
admin_only = require("admin")


@dataclass(frozen=True)
class Scope:
    """The partners a caller may see: ``None`` = every partner (operator roles)."""

    principal: Principal
    partner_ids: frozenset[int] | None

    def allows(self, partner_id: int | None) -> bool:
        return self.partner_ids is None or partner_id in self.partner_ids

    async def partner(self, session: AsyncSession, ref: str | int) -> Partner:
        """The partner ``ref`` (id or slug) if the caller may see it; NotFound otherwise."""
        row = await find_partner(session, ref)
        if row is None or not self.allows(row.id):
            raise NotFound(f"no partner {ref!r}")
        return row

    async def narrow(self, session: AsyncSession, ref: str | None) -> frozenset[int] | None:
        """The partner ids a list is filtered by: the named partner (checked), else the whole scope."""
        if ref is None:
            return self.partner_ids
        return frozenset({(await self.partner(session, ref)).id})


async def scope(request: Request, who: Principal = Depends(principal)) -> Scope:
    """THE tenancy rule: a partner principal sees its own partner, the operator's roles every one."""
    if who.role == "partner":
        if who.partner_id is None:  # a broken row: deny rather than widen
            raise Forbidden("a partner credential without a partner")
        request.state.partner_id = who.partner_id
        return Scope(who, frozenset({who.partner_id}))
    return Scope(who, None)


async def partner_in_path(
    partner: str, request: Request, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)
) -> Partner:
    """The path's ``{partner}`` (id or slug) if the caller may see it, NotFound otherwise; tagged on the
    request so a write's audit row names it. Shares the route's request session (``db``)."""
    row = await sc.partner(session, partner)
    request.state.partner_id = row.id
    return row
