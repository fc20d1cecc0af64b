"""A tiny asyncio HTTP server for ``/healthz`` and ``/metrics`` (no web framework in the product)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aimanager.logs import get_logger

log = get_logger(__name__)
Health = Callable[[], Awaitable[tuple[bool, str]]]
Metrics = Callable[[], Awaitable[bytes]]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def serve_http(host: str, port: int, health: Health, metrics: Metrics) -> asyncio.Server:
    """Serve GET ``/healthz`` (200 or 503 with a one-line reason) and GET ``/metrics``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readline()
                while await reader.readline() not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing here needs them
                parts = request.decode("latin-1").split()
                path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
                if path == "/healthz":
                    ok, why = await health()
                    status, body, ctype = (
                        ("200 OK" if ok else "503 Service Unavailable"),
                        why.encode(),
                        "text/plain",
                    )
                elif path == "/metrics":
                    status, body, ctype = "200 OK", await metrics(), PROMETHEUS_TEXT
                else:
                    status, body, ctype = "404 Not Found", b"not found", "text/plain"
                head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
                await writer.drain()
        except Exception as exc:  # a broken client must not disturb the worker
            log.debug("ops.http.request_failed", error=str(exc))
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    log.info("ops.http.listening", host=host, port=port)
    return server
