"""Images the marketplace sandboxes hold: fetched from the seller's public URLs (or uploaded as files)
and checked the way each marketplace checks them — format, pixel size, aspect, bytes.

Each marketplace's ``routes_media`` states its own rule (figures from reference/marketplace-apis.md,
written here independently of the product's ``domain.images``: the sandbox is the marketplace, not a
copy of our code). ``GET /_sandbox/media?token=…`` reads back what an account holds per offer:
``{offer_id: [{"url", "sha256", "format", "width", "height", "bytes"}]}`` plus ``problems`` per offer
for pictures that were refused.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from PIL import Image


@dataclass(frozen=True)
class Rule:
    """One marketplace's image rule."""

    formats: frozenset[str]
    min_width: int
    min_height: int
    max_bytes: int
    aspect: float | None = None  # width / height when the marketplace wants one shape (±2 %)
    exact: tuple[int, int] | None = None  # a size the template asks for exactly (Uzum)


@dataclass(frozen=True)
class Held:
    url: str
    sha256: str
    format: str
    width: int
    height: int
    bytes: int


@dataclass
class Shelf:
    """Per account and offer: the images held, and the problems of the last refused set."""

    held: dict[str, dict[str, list[Held]]] = field(default_factory=dict)
    problems: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    pending: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # URLs not yet downloaded

    def put(self, account: str, offer_id: str, images: list[Held]) -> None:
        self.held.setdefault(account, {})[offer_id] = images
        self.problems.setdefault(account, {}).pop(offer_id, None)

    def refuse(self, account: str, offer_id: str, problems: list[str]) -> None:
        self.problems.setdefault(account, {})[offer_id] = problems


def check(data: bytes, rule: Rule) -> tuple[Held | None, list[str]]:
    """Decode and check one image; ``(held, [])`` or ``(None, problems)``."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        return None, ["not a readable image"]
    fmt, (width, height) = str(image.format or ""), image.size
    problems = []
    if fmt not in rule.formats:
        problems.append(f"format {fmt} is not accepted ({', '.join(sorted(rule.formats))})")
    if width < rule.min_width or height < rule.min_height:
        problems.append(f"{width}×{height} is smaller than {rule.min_width}×{rule.min_height}")
    if rule.exact and (width, height) != rule.exact:
        problems.append(f"{width}×{height} is not {rule.exact[0]}×{rule.exact[1]}")
    if rule.aspect and abs(width / height - rule.aspect) > 0.02 * rule.aspect:
        problems.append(f"aspect {width}:{height} is not {rule.aspect:.3f}")
    if len(data) > rule.max_bytes:
        problems.append(f"{len(data)} bytes is over {rule.max_bytes}")
    if problems:
        return None, problems
    return Held("", hashlib.sha256(data).hexdigest(), fmt, width, height, len(data)), []


async def fetch_and_check(urls: list[str], rule: Rule) -> tuple[list[Held], list[str]]:
    """Download every URL (as the marketplace does) and check it; the held images, or the problems."""
    held: list[Held] = []
    problems: list[str] = []
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as client:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                problems.append(f"{url}: not an absolute http(s) URL")
                continue
            try:
                answer = await client.get(url)
            except httpx.HTTPError as exc:
                problems.append(f"{url}: download failed ({type(exc).__name__})")
                continue
            if answer.status_code != 200:
                problems.append(f"{url}: download answered {answer.status_code}")
                continue
            image, why = check(answer.content, rule)
            if image is None:
                problems += [f"{url}: {w}" for w in why]
            else:
                held.append(Held(url, image.sha256, image.format, image.width, image.height, image.bytes))
    return held, problems


def shelf_of(request: Request) -> Shelf:
    shelf: Shelf = request.app.state.media
    return shelf


def account_key(request: Request) -> str:
    """The account the request authenticated as (the gate's own ``account_of``)."""
    return str(request.app.state.hooks.account_of(request))


def install_media(app: FastAPI, settle: Any = None) -> None:
    """Give ``app`` a media shelf and ``GET /_sandbox/media``; ``settle(shelf)`` (async) downloads what
    a marketplace fetches in the background (Yandex) before a read-back."""
    app.state.media = Shelf()
    app.state.media_settle = settle

    async def media(request: Request, token: str) -> dict[str, Any]:
        shelf = shelf_of(request)
        if request.app.state.media_settle is not None:
            await request.app.state.media_settle(shelf)
        return {
            "held": {o: [asdict(h) for h in images] for o, images in shelf.held.get(token, {}).items()},
            "problems": shelf.problems.get(token, {}),
        }

    app.add_api_route("/_sandbox/media", media, methods=["GET"], include_in_schema=False)
