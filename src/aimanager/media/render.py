"""Infographics: the product photo on a clean background with catalog facts drawn as text, at one
marketplace's size.

Text is drawn by code (Pillow + Noto Sans from the ``fontpkg-noto-sans`` wheel, OFL): Cyrillic and
Uzbek Latin including oʻ/gʻ (U+02BB) on any machine, no system font needed. Only what the caller passes
is written — the title and ``(label, value)`` facts from the catalog; nothing is invented here. A glyph
the font lacks is an error, never a box on a card.

Layout (top to bottom, all inside a margin): the photo in the upper ~58 %, the title (bold, at most two
lines), then one rounded row per fact, label left and value right. Fonts shrink until everything fits;
a value still too wide ends with "…" rather than leaving the frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from aimanager.media.errors import BadImage
from aimanager.media.imaging import BACKGROUND, encode, fit

RENDER_VERSION = "infographic-1"  # part of every render's input hash: bump it when the layout changes
TEXT = (28, 30, 36)
MUTED = (96, 102, 112)
ROW_FILL = (241, 243, 246)
ACCENT = (0, 112, 243)


@functools.cache
def font_path() -> str:
    """The Noto Sans variable font shipped in the ``fontpkg-noto-sans`` wheel."""
    import fontpkg_noto_sans

    return str(fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf")


@functools.cache
def font(size: int, weight: str = "Regular") -> ImageFont.FreeTypeFont:
    face = ImageFont.truetype(font_path(), size)
    face.set_variation_by_name(weight)
    return face


@functools.cache
def _notdef() -> bytes:
    return bytes(font(48).getmask("\uffff"))


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` the font draws as its "missing glyph" box."""
    notdef = _notdef()
    return sorted({ch for ch in text if not ch.isspace() and bytes(font(48).getmask(ch)) == notdef})


@dataclass
class Rendered:
    """An infographic's JPEG bytes, its size, and where each piece of text went (for checks)."""

    data: bytes
    width: int
    height: int
    boxes: list[tuple[str, tuple[int, int, int, int]]] = field(default_factory=list)


def _box(bbox: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return (round(bbox[0]), round(bbox[1]), round(bbox[2]), round(bbox[3]))


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if face.getlength(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _ellipsize(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    if face.getlength(text) <= width:
        return text
    while text and face.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def infographic(
    photo: Image.Image, width: int, height: int, title: str, facts: list[tuple[str, str]]
) -> Rendered:
    """Draw the infographic (see the module docstring); ``BadImage`` if a character has no glyph."""
    missing = missing_glyphs(title + "".join(a + b for a, b in facts))
    if missing:
        raise BadImage(f"the infographic font has no glyph for {''.join(missing)!r}")
    margin = round(width * 0.055)
    inner = width - 2 * margin
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    boxes: list[tuple[str, tuple[int, int, int, int]]] = []
    photo_h = round(height * (0.58 if height > width else 0.52))
    framed = fit(photo, inner, photo_h - margin, margin=0.0)
    canvas.paste(framed, (margin, margin))
    y = margin + photo_h - margin + round(height * 0.025)
    # Title: bold, the largest size at which it takes at most two lines.
    size = round(width * 0.052)
    while True:
        face = font(size, "Bold")
        lines = _wrap(title, face, inner)
        if len(lines) <= 2 or size <= 18:
            break
        size -= 2
    lines = lines[:2]
    if len(_wrap(title, face, inner)) > 2:
        lines[-1] = _ellipsize(lines[-1] + " …", face, inner)
    for line in lines:
        line = _ellipsize(line, face, inner)
        bbox = _box(draw.textbbox((margin, y), line, font=face))
        draw.text((margin, y), line, font=face, fill=TEXT)
        boxes.append((line, bbox))
        y = bbox[3] + round(size * 0.25)
    draw.rectangle((margin, y + 4, margin + round(inner * 0.12), y + 10), fill=ACCENT)
    y += round(height * 0.03)
    # Fact rows share what is left of the height.
    if facts:
        room = height - margin - y
        row_h = min(round(height * 0.085), room // len(facts))
        gap = max(4, round(row_h * 0.16))
        size = max(14, round((row_h - gap) * 0.5))
        for label, value in facts:
            face, bold = font(size), font(size, "SemiBold")
            top, bottom = y, y + row_h - gap
            draw.rounded_rectangle(
                (margin, top, margin + inner, bottom), radius=round(row_h * 0.22), fill=ROW_FILL
            )
            pad = round(row_h * 0.3)
            mid = (top + bottom) // 2
            label_w = face.getlength(label)
            room_for_value = inner - 2 * pad - label_w - pad
            value_text = _ellipsize(value, bold, room_for_value)
            label_box = _box(draw.textbbox((margin + pad, mid), label, font=face, anchor="lm"))
            draw.text((margin + pad, mid), label, font=face, fill=MUTED, anchor="lm")
            right = margin + inner - pad
            value_box = _box(draw.textbbox((right, mid), value_text, font=bold, anchor="rm"))
            draw.text((right, mid), value_text, font=bold, fill=TEXT, anchor="rm")
            boxes += [(label, label_box), (value_text, value_box)]
            y += row_h
    return Rendered(encode(canvas), width, height, boxes)


def clean_photo(photo: Image.Image, width: int, height: int) -> Rendered:
    """The photo alone, fitted on a white canvas of the marketplace's size (the card's main image)."""
    return Rendered(encode(fit(photo, width, height)), width, height)
