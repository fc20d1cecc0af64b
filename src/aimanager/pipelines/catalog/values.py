"""Cell values of a catalog, read without guessing.

* Numbers are read the way people write them (``1 250 000,50``, ``1250000.50``, ``1,250,000``) and a
  number that could mean two things (``1,250``: 1250 or 1.25?) is refused, never picked.
* A numeric spreadsheet cell (:class:`Num`) keeps its number format: a percent-formatted ``0.15`` is
  15 %, a ``00000``-formatted ``123`` is ``00123``.
* Identifiers (SKU, barcode, marketplace ids) are text. A barcode Excel stored as a number is taken
  only when its digits are still a valid GTIN; one that lost digits (``4.6E+12``) is refused.

Every function raises :class:`ValueError` with the sentence a user should read; the row validation
puts the column and the cell in front of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Spaces people (and Excel in Russian locales) put between thousands: space, no-break space, narrow
# no-break space, figure space, thin space.
_GROUP_SPACES = str.maketrans({c: " " for c in "\u00a0\u202f\u2007\u2009"})
_NUMBER_CHARS = re.compile(r"[0-9][0-9 .,]*")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
# What Excel writes for a number too wide for its cell ("4.6E+12", "4,60E+12"): the digits are gone.
_EXCEL_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]\d+$")
_ZERO_PAD = re.compile(r"^0+$")
GTIN_LENGTHS = (8, 12, 13, 14)
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; more are silently zeroed


@dataclass(frozen=True)
class Num:
    """A numeric cell of a spreadsheet: the stored number and the cell's number format."""

    raw: int | float
    number_format: str = "General"

    @property
    def decimal(self) -> Decimal:
        """The number as Excel shows it: 15 significant digits, never a binary float's tail."""
        if isinstance(self.raw, int):
            return Decimal(self.raw)
        return Decimal(format(self.raw, f".{EXCEL_DIGITS}g"))

    @property
    def is_percent(self) -> bool:
        return "%" in _unquoted(self.number_format)

    def text(self) -> str:
        """The number as plain text (``250000``, ``17.5``): for columns that are text by nature."""
        value = self.decimal
        return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else _plain(value)


def _unquoted(number_format: str) -> str:
    return re.sub(r'"[^"]*"', "", number_format or "")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_number(text: str) -> Decimal:
    """A number as written in a cell; thousands grouped by spaces, ``,`` or ``.``; decimal ``,`` or ``.``.

    Refused: anything but digits, separators and a leading minus; scientific notation; misplaced
    thousands separators (``12 50``); and the ambiguous case — one ``,`` or ``.`` followed by exactly
    three digits after one to three digits (``1,250``, ``1.250``), which is 1250 in one locale and
    1.25 in another.
    """
    original = text
    text = text.strip().translate(_GROUP_SPACES)
    sign = ""
    if text[:1] in ("-", "\u2212"):
        sign, text = "-", text[1:].lstrip()
    if not text:
        raise ValueError("empty number")
    if _SCIENTIFIC.match(text):
        raise ValueError(f"{original.strip()[:40]!r} is in scientific notation; write the number in full")
    if not _NUMBER_CHARS.fullmatch(text) or not text[-1].isdigit():
        raise ValueError(f"not a number: {original.strip()[:40]!r}")
    text = re.sub(" +", " ", text)
    marks = [c for c in ".," if c in text]
    group: str | None = " " if " " in text else None
    point: str | None = None
    if len(marks) == 2:
        point = text[max(text.rfind("."), text.rfind(","))]
        if group is not None:
            raise ValueError(f"{original.strip()[:40]!r} mixes three kinds of separators")
        group = "," if point == "." else "."
    elif len(marks) == 1:
        mark = marks[0]
        if text.count(mark) > 1:
            if group is not None:
                raise ValueError(f"{original.strip()[:40]!r} mixes spaces and {mark!r} between thousands")
            group = mark
        else:
            point = mark
            whole, frac = text.split(mark)
            if group is None and len(frac) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
                fraction = _plain(Decimal(f"{whole}.{frac}"))
                raise ValueError(
                    f"ambiguous number {original.strip()!r}: {whole}{frac} or {fraction}? write "
                    f"{whole}{frac} (or {whole} {frac}) for the thousands, or {fraction.replace('.', mark)} "
                    "for the fraction"
                )
    whole, _, frac = text.partition(point) if point else (text, "", "")
    if point and (not frac.isdigit() or (group is not None and group in frac)):
        raise ValueError(f"not a number: {original.strip()[:40]!r}")
    if group is not None:
        parts = whole.split(group)
        if not (
            1 <= len(parts[0]) <= 3
            and parts[0].isdigit()
            and all(len(p) == 3 and p.isdigit() for p in parts[1:])
        ) or (parts[0].startswith("0") and len(parts) > 1):
            raise ValueError(f"misplaced thousands separator in {original.strip()[:40]!r}")
        whole = "".join(parts)
    if not whole.isdigit():
        raise ValueError(f"not a number: {original.strip()[:40]!r}")
    try:
        return Decimal(f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits here
        raise ValueError(f"not a number: {original.strip()[:40]!r}") from None


def number_of(value: object) -> Decimal:
    """A money/quantity cell: a typed spreadsheet number as is, text through :func:`parse_number`."""
    if isinstance(value, Num):
        return value.decimal
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return value
    if isinstance(value, (bool, float)):
        raise ValueError(f"a {type(value).__name__} is not a number here; write it as text")
    return parse_number(str(value))


def percent_of(value: object) -> Decimal:
    """A percent cell: ``15``, ``15 %``, ``15%`` and a percent-formatted 0.15 are all 15."""
    if isinstance(value, Num):
        return value.decimal * 100 if value.is_percent else value.decimal
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            text = text[:-1].rstrip()
        return parse_number(text)
    return number_of(value)


def gtin_valid(digits: str) -> bool:
    """True for an 8-, 12-, 13- or 14-digit code whose last digit is its GS1 check digit."""
    if len(digits) not in GTIN_LENGTHS or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    # Weights 3, 1, 3, … from the right of the body, so leading zeros never change the check digit.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def identifier_text(value: object, *, barcode: bool = False) -> str:
    """An identifier (SKU, barcode, marketplace id) as text, refusing numbers that lost their digits.

    Text is kept exactly (``00123`` stays ``00123``). A numeric cell is taken only when it still has
    every digit: a whole number of at most 15 digits (Excel's precision), padded to the width of a
    zero-padding format (``00000``) as Excel shows it; a barcode cell must moreover be a valid GTIN,
    because a leading zero lost in a General cell or a digit rounded away leaves a wrong but
    well-formed number behind.
    """
    if isinstance(value, Num):
        number = value.decimal
        shown = _plain(number)
        if number != number.to_integral_value() or number < 0:
            raise ValueError(f"the cell holds the number {shown}, not text; format the column as Text")
        digits = str(int(number))
        if len(digits) > EXCEL_DIGITS:
            raise ValueError(
                f"the cell holds the {len(digits)}-digit number {shown}; Excel keeps only 15 digits, "
                "so some were lost — format the column as Text and type it again"
            )
        fmt = _unquoted(value.number_format).strip()
        if _ZERO_PAD.match(fmt):
            digits = digits.zfill(len(fmt))
        if barcode and not gtin_valid(digits):
            raise ValueError(
                f"the cell holds the number {shown}, not text, and {digits} is not a valid GTIN (digits "
                "or leading zeros were lost); format the column as Text and type the barcode again"
            )
        return digits
    text = str(value).strip()
    if _EXCEL_SCIENTIFIC.match(text):
        raise ValueError(
            f"{text[:40]!r} is a number in scientific notation: a spreadsheet dropped its digits when "
            "it saved the file; format the column as Text and type it again"
        )
    return text
