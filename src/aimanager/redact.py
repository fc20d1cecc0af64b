"""Secrets out of every stored or logged error text.

Two nets, because a provider or marketplace may echo a request back in its error body (some proxies
return the request headers verbatim):

* known values: every secret the process was given (API keys, marketplace tokens) is registered when
  it is loaded, and any occurrence of it is replaced, whatever the format around it;
* shapes: key-like strings (``sk-…``, ``sk-ant-…``), ``Bearer …`` credentials and the values of
  credential-named fields (``x-api-key``, ``authorization``, ``api_key``, ``token``, ``client_secret``)
  are replaced even when the value was never registered (a key of another deployment, a rotated one).

``redact`` is applied where error text is made durable: ``RemoteHTTPError`` (message and body), the
job engine's ``last_error`` and the gateway's per-item reasons.
"""

from __future__ import annotations

import re
import threading

REDACTED = "***"
# Shorter values are not registered: replacing "abc" everywhere would garble ordinary text.
MIN_SECRET_LENGTH = 8

_known: set[str] = set()
_lock = threading.Lock()

_SHAPES = (
    # Provider keys: Anthropic sk-ant-…, OpenAI sk-… / sk-proj-…, and other long sk- tokens.
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"),
    # "x-api-key": "…", authorization=…, 'token': '…' — a JSON field, header or query parameter.
    re.compile(
        r"""(?ix)
        (?P<name>(?<![\w-])["']?(?:x-api-key|api[-_]?key|authorization|access[-_]?token|refresh[-_]?token|
            client[-_]?secret|api[-_]?token|token|password|secret)["']?\s*[:=]\s*)
        (?P<quote>["']?)(?P<value>[^"'\s,;&}]{4,})"""
    ),
)


def register(*secrets: str | None) -> None:
    """Remember secret values so every later ``redact`` removes them."""
    with _lock:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                _known.add(secret)


def redact(text: str, *extra: str | None) -> str:
    """``text`` with every registered secret, every ``extra`` one and every key-shaped value replaced."""
    if not text:
        return text
    with _lock:
        known = sorted(_known.union(s for s in extra if s and len(s) >= MIN_SECRET_LENGTH), key=len)
    for secret in reversed(known):  # longest first: a key that contains another is removed whole
        text = text.replace(secret, REDACTED)
    text = _SHAPES[0].sub(REDACTED, text)
    text = _SHAPES[1].sub(f"Bearer {REDACTED}", text)
    return _SHAPES[2].sub(lambda m: f"{m['name']}{m['quote']}{REDACTED}", text)
