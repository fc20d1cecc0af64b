"""The sandbox's eyes: image blocks decoded, billed by pixel size like the providers, and a vision
prompt answered from what the pixels show.

Billing follows the providers' published rules (reference/llm-gateways.md §3.1): Claude ≈ width×height/750
after shrinking the long side to 2,576 px; GPT models 85 + 170 per 512-px tile after fitting 2048 px and
768 px on the short side. An image that cannot be decoded is billed the flat ``tokens.IMAGE_TOKENS``.

The answer is measured, not made up: the product is the non-background part of the photo; its main
colour is the most common hue there (named in Russian), the number of separate objects gives the pack
count when there are several, and the share of its bounding box it fills gives the shape. Like a real
model it also states the colour when the seller already gave one (instructions are not always obeyed):
the product must drop that, never overwrite the seller's fact.
"""

from __future__ import annotations

import base64
import colorsys
import io
import json
import math
from collections import Counter
from typing import Any

from PIL import Image

from aimanager.llm.prompts import read_document
from aimanager.llm.vision_prompt import VISION_MARKER, VISION_PROMPT_VERSION

GRID = 64  # the photo is read on a 64×64 grid: enough for colour, count and shape of a product shot
# (hue upper bound in degrees, Russian name) for saturated colours; greys are named by lightness.
HUES = (
    (15, "красный"),
    (40, "оранжевый"),
    (70, "жёлтый"),
    (160, "зелёный"),
    (200, "голубой"),
    (255, "синий"),
    (290, "фиолетовый"),
    (335, "розовый"),
    (360, "красный"),
)


def is_vision_prompt(user_text: str) -> bool:
    return f"TASK {VISION_PROMPT_VERSION}" in user_text


def _decode(part: dict[str, Any]) -> Image.Image | None:
    data: str | None = None
    source = part.get("source")
    if part.get("type") == "image" and isinstance(source, dict) and source.get("type") == "base64":
        data = source.get("data")
    url = (part.get("image_url") or {}).get("url") if part.get("type") == "image_url" else None
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        data = url.split(",", 1)[1]
    if not data:
        return None
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.load()
        return image
    except Exception:
        return None


def images_in(content: Any) -> list[Image.Image | None]:
    """The decoded images of a message ``content`` (None for a block that does not decode)."""
    if not isinstance(content, list):
        return []
    kinds = ("image", "image_url", "input_image")
    return [_decode(p) for p in content if isinstance(p, dict) and p.get("type") in kinds]


def image_tokens(model: str, width: int, height: int) -> int:
    """What the provider bills for one ``width``×``height`` image."""
    if model.startswith("claude"):
        scale = min(1.0, 2576 / max(width, height))
        return math.ceil(width * scale * height * scale / 750)
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    return 85 + 170 * math.ceil(w * scale / 512) * math.ceil(h * scale / 512)


def _colour_name(r: int, g: int, b: int) -> str:
    h, lightness, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    if s < 0.2 or lightness < 0.12 or lightness > 0.92:
        return "чёрный" if lightness < 0.25 else "белый" if lightness > 0.85 else "серый"
    degrees = h * 360
    return next(name for bound, name in HUES if degrees < bound)


def _objects(mask: list[list[bool]]) -> list[list[tuple[int, int]]]:
    seen: set[tuple[int, int]] = set()
    blobs: list[list[tuple[int, int]]] = []
    for y in range(GRID):
        for x in range(GRID):
            if not mask[y][x] or (x, y) in seen:
                continue
            stack, blob = [(x, y)], []
            seen.add((x, y))
            while stack:
                cx, cy = stack.pop()
                blob.append((cx, cy))
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < GRID and 0 <= ny < GRID and mask[ny][nx] and (nx, ny) not in seen:
                        seen.add((nx, ny))
                        stack.append((nx, ny))
            if len(blob) >= 12:  # specks and JPEG noise are not products
                blobs.append(blob)
    return blobs


def look(image: Image.Image) -> list[dict[str, Any]]:
    """What the photo shows: colour, pack count (several objects), shape — with confidences."""
    small = image.convert("RGB").resize((GRID, GRID), Image.Resampling.BILINEAR)
    raw = small.tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    corners = [pixels[0], pixels[GRID - 1], pixels[-GRID], pixels[-1]]
    background = Counter(corners).most_common(1)[0][0]

    def far(p: tuple[int, int, int]) -> bool:
        return bool(sum(abs(int(a) - int(b)) for a, b in zip(p, background, strict=True)) > 60)

    mask = [[far(pixels[y * GRID + x]) for x in range(GRID)] for y in range(GRID)]
    product = [p for p in pixels if far(p)]
    if len(product) < 20:
        return []
    names = Counter(_colour_name(*p) for p in product)
    colour, votes = names.most_common(1)[0]
    found: list[dict[str, Any]] = [
        {"name": "color", "value": colour, "confidence": round(min(0.99, votes / len(product)), 2)}
    ]
    blobs = _objects(mask)
    if len(blobs) > 1:
        found.append({"name": "pack_count", "value": str(len(blobs)), "confidence": 0.8})
    if len(blobs) == 1:
        xs, ys = [x for x, _ in blobs[0]], [y for _, y in blobs[0]]
        fill = len(blobs[0]) / ((max(xs) - min(xs) + 1) * (max(ys) - min(ys) + 1))
        if fill > 0.93:
            found.append({"name": "shape", "value": "прямоугольный", "confidence": 0.7})
        elif 0.70 < fill < 0.85:
            found.append({"name": "shape", "value": "круглый", "confidence": 0.7})
    return found


def answer(user_text: str, images: list[Image.Image | None]) -> str:
    """The JSON answer to a vision prompt about the first decodable image."""
    wanted = list(read_document(user_text, VISION_MARKER).get("wanted") or [])
    image = next((i for i in images if i is not None), None)
    seen = look(image) if image is not None else []
    return json.dumps({"attributes": [a for a in seen if a["name"] in wanted]}, ensure_ascii=False)
