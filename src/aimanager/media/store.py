"""Object storage for product images behind one interface: a local folder by default, any
S3-compatible store by URL.

Keys of images are content-addressed (``img/ab/<sha256>.jpg``): the same bytes always land on the same
key, so storing is idempotent and a second run that renders the same picture writes nothing. Public
URLs are ``<public base URL>/<key>`` when a CDN base URL is configured (``AIMANAGER_MEDIA_PUBLIC_URL``);
otherwise an S3 store answers its own object URL and a local folder has none (marketplaces that only
take URLs then cannot be served: the upload says so).

S3 goes through the official AWS SDK (``boto3``); its client is synchronous and thread-safe, so each
call runs in a worker thread (``asyncio.to_thread``): one small PUT/HEAD/GET per image. Credentials come
from boto3's own chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, instance roles) and
never from the URL, so a store URL can be logged.

Store URLs: ``file:///abs/path`` or a plain path; ``s3://bucket/prefix?endpoint=http://host:port&region=r``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from aimanager.errors import ConfigError
from aimanager.media.errors import StorageFailed

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "json": "application/json"}


def content_key(data: bytes, ext: str, prefix: str = "img") -> str:
    """The content-addressed key of ``data``: ``img/<2 hex>/<sha256>.<ext>`` (the fan-out keeps a local
    folder's directories small)."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{prefix}/{digest[:2]}/{digest}.{ext}"


class ObjectStore(Protocol):
    """Bytes by key, with a public URL per key where the store has one."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def exists(self, key: str) -> bool: ...

    def public_url(self, key: str) -> str | None: ...

    async def close(self) -> None: ...


def _join(base: str, key: str) -> str:
    return base.rstrip("/") + "/" + quote(key)


class LocalStore:
    """A folder: ``<root>/<key>``; writes go to a temporary file renamed into place (a reader never
    sees half an image, two writers of the same key leave one whole copy)."""

    def __init__(self, root: Path, public_base_url: str | None = None) -> None:
        self.root = root
        self.public_base_url = public_base_url

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r}, public={self.public_base_url!r})"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageFailed(f"key {key!r} points outside the store")
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._put, key, data)
        except OSError as exc:
            raise StorageFailed(f"local store {self.root}: {exc}") from exc

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def public_url(self, key: str) -> str | None:
        return _join(self.public_base_url, key) if self.public_base_url else None

    async def close(self) -> None:
        return None


class S3Store:
    """An S3-compatible bucket (AWS, MinIO, Ceph, a local test server) under an optional prefix."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        public_base_url: str | None = None,
        client: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.public_base_url = public_base_url
        # Path-style addressing works with every S3-compatible server (virtual hosts need DNS).
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint_url!r})"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _call(self, what: str, func: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(func, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageFailed(f"s3 {what} {self.bucket}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageFailed(f"s3 {what} {self.bucket}: {type(exc).__name__}: {exc}") from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call(
            "put",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            # Content-addressed keys never change content: caches may keep them for good.
            CacheControl="public, max-age=31536000, immutable" if key.startswith("img/") else "no-cache",
        )

    async def get(self, key: str) -> bytes | None:
        answer = await self._call("get", self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        if answer is None:
            return None
        return bytes(await asyncio.to_thread(answer["Body"].read))

    async def exists(self, key: str) -> bool:
        answer = await self._call("head", self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        return answer is not None

    def public_url(self, key: str) -> str:
        if self.public_base_url:
            return _join(self.public_base_url, self._key(key))
        if self.endpoint_url:
            return _join(f"{self.endpoint_url.rstrip('/')}/{self.bucket}", self._key(key))
        return _join(f"https://{self.bucket}.s3.{self.region}.amazonaws.com", self._key(key))

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)


def open_store(url: str | None, public_base_url: str | None = None) -> ObjectStore:
    """The store at ``url`` (default: the folder ``media`` in the working directory)."""
    if not url:
        return LocalStore(Path("media").absolute(), public_base_url)
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        path = parts.path if parts.scheme else url
        return LocalStore(Path(path).absolute(), public_base_url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"media store URL {url!r} names no bucket (s3://bucket/prefix)")
        if parts.username or parts.password:
            raise ConfigError("media store URL: put S3 credentials in AWS_* variables, not in the URL")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Store(
            parts.netloc,
            prefix=parts.path,
            endpoint_url=query.get("endpoint"),
            region=query.get("region"),
            public_base_url=public_base_url,
        )
    raise ConfigError(f"media store URL {url!r}: use a folder path, file:///path or s3://bucket/prefix")
