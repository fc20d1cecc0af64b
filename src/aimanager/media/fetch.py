"""Downloading catalog photos: http(s) URLs through one shared httpx client, or files on disk (a
catalog may name photos beside it).

A download stops at ``SOURCE_MAX_BYTES`` + 1 (a 2 GB "photo" is refused without reading it all). 4xx
answers and files that do not exist are the row's fault (``transient=False``: retrying cannot help);
timeouts, connection errors, 429 and 5xx are transient and the job retries them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from aimanager.domain.images import MB, SOURCE_MAX_BYTES
from aimanager.media.errors import FetchFailed

USER_AGENT = "AIManager-images/1 (+catalog photo fetch)"


class PhotoFetcher:
    """Fetches photos; ``base_dir`` resolves relative file paths."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = SOURCE_MAX_BYTES,
        base_dir: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
    ) -> None:
        self.max_bytes = max_bytes
        self.base_dir = base_dir
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, headers={"user-agent": USER_AGENT}, transport=transport
        )
        self._slots = asyncio.Semaphore(concurrency)

    def __repr__(self) -> str:
        return f"PhotoFetcher(max_bytes={self.max_bytes})"

    async def fetch(self, source: str) -> bytes:
        """The bytes of ``source`` (URL or path); ``FetchFailed`` says whether a retry may help."""
        scheme = urlsplit(source).scheme.lower()
        async with self._slots:
            if scheme in ("http", "https"):
                return await self._get(source)
            if scheme in ("", "file"):
                return await self._read(source)
        raise FetchFailed(f"{source}: only http(s) URLs and files are fetched", transient=False)

    async def _get(self, url: str) -> bytes:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise FetchFailed(f"{url}: HTTP {response.status_code}", transient=True)
                if response.status_code >= 400:
                    raise FetchFailed(f"{url}: HTTP {response.status_code}", transient=False)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchFailed(f"{url}: over {self.max_bytes // MB} MB", transient=False)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url}: {type(exc).__name__}", transient=True) from exc

    async def _read(self, source: str) -> bytes:
        path = Path(urlsplit(source).path if source.startswith("file:") else source)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        try:
            if path.stat().st_size > self.max_bytes:
                raise FetchFailed(f"{source}: over {self.max_bytes // MB} MB", transient=False)
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise FetchFailed(f"{source}: {exc.strerror or exc}", transient=False) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PhotoFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
