"""Decoding and measuring photos with Pillow: what an image is, its perceptual hash, the copy the
vision model gets, and a photo fitted on a marketplace's canvas.

Every encoder call here is deterministic (same input bytes → same output bytes), which is what makes
content-addressed storage skip unchanged work.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from aimanager.domain.images import HASH_H, HASH_W, ImageInfo, dhash
from aimanager.media.errors import BadImage

# Decompression bombs: a 20 kB PNG can claim 50,000×50,000 pixels. Pillow warns above ~89 Mpx and
# refuses above twice that; we refuse anything over 60 Mpx outright (no product photo is that big).
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 90  # well above Wildberries' 65 % floor; 1080×1440 infographics stay ~150-300 kB
BACKGROUND = (255, 255, 255)
# The vision model reads a photo no larger than this on its long side: enough to see colour, material
# and count, and ~1,050 input tokens on Claude (w×h/750) instead of ~2,800 at 1440 px.
VISION_LONG_SIDE = 768


@dataclass(frozen=True)
class Decoded:
    """A photo's bytes, what they are, and the decoded picture (RGB)."""

    data: bytes
    info: ImageInfo
    image: Image.Image


def decode(data: bytes) -> Decoded:
    """Decode ``data``; ``BadImage`` when it is not an image Pillow reads or is absurdly large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise BadImage(f"{width}×{height} px is over {MAX_PIXELS // 1_000_000} megapixels")
            fmt = str(probe.format or "")
            # Phone photos carry their rotation in EXIF: the pixels must be turned before measuring.
            image = ImageOps.exif_transpose(probe)
            image.load()
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise BadImage(f"not a readable image ({type(exc).__name__}: {exc})") from exc
    rgb = flatten(image)
    return Decoded(data, ImageInfo(fmt, rgb.width, rgb.height, len(data)), rgb)


def flatten(image: Image.Image) -> Image.Image:
    """RGB on white: transparency (PNG, WebP, GIF) becomes the clean background, not black."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit difference hash (``domain.images.dhash``) of a picture."""
    thumb = image.convert("L").resize((HASH_W, HASH_H), Image.Resampling.LANCZOS)
    return dhash(list(thumb.tobytes()))


def encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    """``image`` as JPEG (quality ``JPEG_QUALITY``, no metadata) or PNG bytes."""
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    return out.getvalue()


def for_vision(image: Image.Image, long_side: int = VISION_LONG_SIDE) -> tuple[bytes, int, int]:
    """The JPEG the vision model is sent, shrunk to ``long_side`` (never enlarged), and its size."""
    copy = image.copy()
    copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return encode(copy), copy.width, copy.height


def fit(image: Image.Image, width: int, height: int, *, margin: float = 0.06) -> Image.Image:
    """``image`` scaled to fit ``width``×``height`` inside a ``margin`` border, centred on white: the
    whole product stays visible (no crop), the canvas has the marketplace's exact size."""
    inner_w, inner_h = int(width * (1 - 2 * margin)), int(height * (1 - 2 * margin))
    scale = min(inner_w / image.width, inner_h / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    scaled = image.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    canvas.paste(scaled, ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas
