"""Test photos drawn with Pillow, and a loopback HTTP server for them and for the media store (the CDN)."""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw


def mug(colour: tuple[int, int, int] = (200, 30, 40), size: tuple[int, int] = (800, 1000)) -> Image.Image:
    """A mug: a round body with a handle, on white."""
    w, h = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((w * 0.2, h * 0.25, w * 0.75, h * 0.7), fill=colour)
    draw.rectangle((w * 0.72, h * 0.4, w * 0.88, h * 0.55), outline=colour, width=max(4, w // 40))
    return image


def pack(count: int = 3, colour: tuple[int, int, int] = (30, 60, 200)) -> Image.Image:
    """``count`` separate identical items (a pack), on white."""
    image = Image.new("RGB", (900, 900), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for i in range(count):
        x = 60 + i * (780 // count)
        draw.ellipse((x, 330, x + 780 // count - 60, 330 + 780 // count - 60), fill=colour)
    return image


def box(colour: tuple[int, int, int] = (20, 150, 60)) -> Image.Image:
    """A rectangular product, on white."""
    image = Image.new("RGB", (1000, 800), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((200, 200, 800, 600), fill=colour)
    return image


def save(image: Image.Image, path: Path, fmt: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    image.save(out, fmt, quality=92) if fmt == "JPEG" else image.save(out, fmt)
    path.write_bytes(out.getvalue())
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
