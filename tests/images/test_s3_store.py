"""The object store against a real S3-compatible server on loopback (moto's standalone server, spoken to
over HTTP by boto3 exactly as AWS, MinIO or Ceph would be), and the local-folder default."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from aimanager.errors import ConfigError
from aimanager.media.errors import StorageFailed
from aimanager.media.store import LocalStore, S3Store, content_key, open_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="cards")
        # What an operator does for a public image bucket (or a CDN does with its own access).
        policy = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
            '"Action":"s3:GetObject","Resource":"arn:aws:s3:::cards/*"}]}'
        )
        client.put_bucket_policy(Bucket="cards", Policy=policy)
        yield endpoint
    finally:
        server.stop()


async def test_s3_store_by_url_is_content_addressed_and_serves_public_urls(s3_endpoint: str) -> None:
    store = open_store(f"s3://cards/aim?endpoint={s3_endpoint}&region=us-east-1")
    assert isinstance(store, S3Store)
    data = b"\xff\xd8 not really a jpeg but bytes all the same"
    key = content_key(data, "jpg")
    assert key.startswith("img/") and key.endswith(".jpg") and key == content_key(data, "jpg")
    assert not await store.exists(key) and await store.get(key) is None
    await store.put(key, data, "image/jpeg")
    assert await store.exists(key) and await store.get(key) == data
    url = store.public_url(key)
    assert url == f"{s3_endpoint}/cards/aim/{key}"
    async with httpx.AsyncClient() as client:
        answer = await client.get(url)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "image/jpeg"
    # A CDN base URL in front of the bucket: public URLs use it, with the same key.
    cdn = open_store(f"s3://cards/aim?endpoint={s3_endpoint}", "https://cdn.example.uz/m")
    assert cdn.public_url(key) == f"https://cdn.example.uz/m/aim/{key}"
    await store.close()
    await cdn.close()


async def test_s3_failures_are_storage_errors_not_crashes(s3_endpoint: str) -> None:
    store = open_store(f"s3://no-such-bucket?endpoint={s3_endpoint}")
    with pytest.raises(StorageFailed, match="no-such-bucket"):
        await store.put("img/aa/x.jpg", b"x", "image/jpeg")
    await store.close()


async def test_local_store_default_and_bad_urls(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "media"), "http://127.0.0.1:9/media")
    assert isinstance(store, LocalStore)
    key = content_key(b"abc", "jpg")
    await store.put(key, b"abc", "image/jpeg")
    await store.put(key, b"abc", "image/jpeg")  # the same bytes again: one file, nothing else left
    assert (tmp_path / "media" / key).read_bytes() == b"abc"
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()] == [key.rsplit("/", 1)[1]]
    assert store.public_url(key) == f"http://127.0.0.1:9/media/{key}"
    assert open_store(str(tmp_path)).public_url(key) is None  # no CDN: no public URL
    with pytest.raises(StorageFailed):
        await store.put("../outside.jpg", b"x", "image/jpeg")
    with pytest.raises(ConfigError):
        open_store("ftp://host/x")
    with pytest.raises(ConfigError, match="credentials"):
        open_store("s3://key:secret@bucket")
