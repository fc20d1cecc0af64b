"""Reading catalog files: CSV (UTF-8 or Windows-1251; comma, semicolon or tab) and XLSX (openpyxl).

Every problem with the file as a whole raises :class:`CatalogImportError` with one clear sentence;
problems of one row (a short or long row) travel with the row and reject it.

* Encoding is decided for the whole file: UTF-8 (with or without a BOM) when every byte is UTF-8,
  Windows-1251 when no line is UTF-8 text; a file that mixes the two (one row pasted from an old
  export) is refused naming the first row that is not UTF-8 and its byte offset — decoding it all as
  Windows-1251 would garble every other row's Cyrillic.
* A CSV row must have exactly the header's number of cells: a short row (a lost delimiter, a line
  break inside an unquoted cell) or a long one (an unquoted delimiter inside a cell) has its values
  in the wrong columns, so it is rejected, not padded or cut.
* XLSX numeric cells arrive as :class:`~aimanager.pipelines.catalog.values.Num` with their number
  format (percent, zero padding), so nothing is lost by turning them into text first.
* A row whose first cell starts with ``#`` and has no other value is a comment (the CSV template's
  notes); a data row always fills partner, SKU and name.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from aimanager.pipelines.catalog.report import CatalogImportError, ImportReport
from aimanager.pipelines.catalog.rows import (
    LISTING_FIELDS,
    MAX_FILE_BYTES,
    PREFIXES,
    PRODUCT_COLUMNS,
    REQUIRED_COLUMNS,
    clean_text,
)
from aimanager.pipelines.catalog.values import Num, identifier_text

KNOWN_COLUMNS = frozenset(PRODUCT_COLUMNS) | {f"{p}_{f}" for p in PREFIXES for f in LISTING_FIELDS}
# Columns whose values are identifiers: text, never numbers (leading zeros, 13-digit barcodes).
IDENTIFIER_COLUMNS = frozenset({"sku", "barcode"}) | {f"{p}_{f}" for p in PREFIXES for f in ("id", "sku")}


@dataclass
class RawRow:
    """One data row as read: its number (the header is row 1), its cells by column, and problems
    of the row as a whole. ``letters`` (shared by every row of a file) names each column's letter."""

    number: int
    cells: dict[str, object]
    problems: list[tuple[str, str]] = field(default_factory=list)
    letters: dict[str, str] = field(default_factory=dict)


def read_rows(path: Path, report: ImportReport) -> Iterator[RawRow]:
    """Yield the data rows of a CSV or XLSX file; raise on an unreadable file."""
    if not path.is_file():
        raise CatalogImportError(f"{path.name}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CatalogImportError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows, exact_width = _xlsx_rows(path), False
    elif suffix in (".csv", ".txt"):
        rows, exact_width = _csv_rows(path), True
    else:
        raise CatalogImportError(f"{path.name}: not a CSV or XLSX file (extension {suffix or 'none'})")
    header: list[str] | None = None
    letters: dict[str, str] = {}
    numeric_ids: list[str] = []
    for row_no, values in rows:
        if header is None:
            header = _header(path.name, values, report)
            letters = {h: _letter(i) for i, h in enumerate(header) if h in KNOWN_COLUMNS}
            continue
        if not any(_filled(v) for v in values) or _is_comment(values):
            continue
        problems = _shape(header, values, row_no, exact_width)
        cells = {h: values[i] for i, h in enumerate(header) if h in KNOWN_COLUMNS and i < len(values)}
        for column in IDENTIFIER_COLUMNS.intersection(cells):
            value = cells[column]
            if isinstance(value, Num) and column != "barcode" and value.number_format == "General":
                if _taken(value):  # the refused ones get their own row error
                    numeric_ids.append(f"{letters[column]}{row_no}")
            elif isinstance(value, _Dated):
                problems.append((column, f"the cell holds a date or time ({value.text}), not text: the "
                                         "spreadsheet turned the identifier into a date; format the column "
                                         "as Text and type it again"))  # fmt: skip
        yield RawRow(row_no, {k: v.text if isinstance(v, _Dated) else v for k, v in cells.items()},
                     problems, letters)  # fmt: skip
    if header is None:
        raise CatalogImportError(f"{path.name}: empty file, no header row")
    if numeric_ids:
        report.warnings.append(
            f"{path.name}: {len(numeric_ids)} SKU/id cell(s) are numbers, not text "
            f"({', '.join(numeric_ids[:5])}{', …' if len(numeric_ids) > 5 else ''}): taken as the digits "
            "Excel shows; if they had leading zeros, format the column as Text and type them again"
        )


def _header(file: str, values: list[Any], report: ImportReport) -> list[str]:
    header = [clean_text(_as_text(v)).lower().replace(" ", "_") for v in values]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogImportError(f"{file}: header row lacks required column(s): {', '.join(missing)}")
    unknown = [h for h in header if h and h not in KNOWN_COLUMNS]
    if unknown:
        report.warnings.append(
            f"{file}: unknown column(s) ignored: {', '.join(u[:40] for u in unknown[:10])}"
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        )
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise CatalogImportError(f"{file}: duplicate column(s): {', '.join(sorted(dupes))}")
    return header


def _shape(header: list[str], values: list[Any], row_no: int, exact_width: bool) -> list[tuple[str, str]]:
    """Why the row's cells do not line up with the header, if they do not."""
    width = len(header)
    if exact_width and len(values) < width:
        reason = "a missing delimiter, or a line break inside an unquoted cell?"
        return [("cells", f"{len(values)} cells but the header has {width}: a short row ({reason})")]
    if exact_width and len(values) > width:
        extra = f"{_letter(width)}{row_no}"
        if len(values) > width + 1:
            extra += f":{_letter(len(values) - 1)}{row_no}"
        reason = "quote cells that contain the delimiter"
        return [("cells", f"{len(values)} cells but the header has {width}: the extra cells ({extra}) "
                          f"would be lost — {reason}")]  # fmt: skip
    stray = [
        f"{_letter(i)}{row_no}" for i, v in enumerate(values) if _filled(v) and (i >= width or not header[i])
    ]
    if stray:
        return [("cells", f"value(s) in column(s) with no header ({', '.join(stray[:5])}) would be lost")]
    return []


def _taken(value: Num) -> bool:
    try:
        identifier_text(value)
    except ValueError:
        return False
    return True


def _filled(value: object) -> bool:
    return not isinstance(value, str) or bool(value.strip())


def _is_comment(values: list[Any]) -> bool:
    first = values[0] if values else ""
    rest_empty = not any(_filled(v) for v in values[1:])
    return isinstance(first, str) and first.lstrip().startswith("#") and rest_empty


def _letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def decode_text(data: bytes, name: str) -> str:
    """The file's text, UTF-8 or Windows-1251 decided for the whole file (see the module doc)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CatalogImportError(f'{name}: UTF-16 text (Excel\'s "Unicode text"); save it as CSV UTF-8')
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise CatalogImportError(f"{name}: binary content, not a CSV text file")
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    first_utf8: int | None = 1 if bom else None
    first_bad: tuple[int, int] | None = None  # (line, byte offset in the file)
    offset = len(data) - len(body)
    for line_no, line in enumerate(body.split(b"\n"), start=1):
        if not line.isascii():
            try:
                line.decode("utf-8")
                first_utf8 = first_utf8 or line_no
            except UnicodeDecodeError as exc:
                first_bad = first_bad or (line_no, offset + exc.start)
        offset += len(line) + 1
    assert first_bad is not None  # the whole body failed to decode, so some line does
    if first_utf8 is None:
        try:
            return body.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise CatalogImportError(
                f"{name}: byte 0x{body[exc.start]:02X} at offset {exc.start} is neither UTF-8 nor "
                "Windows-1251 text; save the file as CSV UTF-8"
            ) from None
    bad_line, at = first_bad
    row, utf8_row = _row_of(body, bad_line), _row_of(body, first_utf8)
    why = "the file starts with a UTF-8 BOM" if bom else f"row {utf8_row} is UTF-8"
    raise CatalogImportError(
        f"{name}: mixed encodings: row {row} (line {bad_line}, byte 0x{data[at]:02X} at offset {at}) is not "
        f"UTF-8 but {why}; nothing imported — save the whole file in one encoding (CSV UTF-8)"
    )


def _row_of(body: bytes, line: int) -> int:
    """The CSV record (row) a physical line belongs to (quoted cells may span lines)."""
    text = body.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    row = 0
    try:
        for row, _ in enumerate(reader, start=1):
            if reader.line_num >= line:
                return row
    except csv.Error:
        pass
    return max(row, 1)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = decode_text(path.read_bytes(), path.name)
    csv.field_size_limit(MAX_FILE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise CatalogImportError(f"{path.name}: malformed CSV near line {reader.line_num}: {exc}") from None


@dataclass(frozen=True)
class _Dated:
    """A date or time cell (kept apart so an identifier column can refuse it)."""

    text: str


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise CatalogImportError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    except Exception as exc:  # openpyxl raises its own types for broken parts
        raise CatalogImportError(
            f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for index, cells in enumerate(sheet.iter_rows(), start=1):
            yield index, [_cell(c.value, getattr(c, "number_format", None)) for c in cells]
    except CatalogImportError:
        raise
    except Exception as exc:
        raise CatalogImportError(f"{path.name}: XLSX sheet cannot be read ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _cell(value: Any, number_format: str | None) -> object:
    """XLSX cell → text, a :class:`Num` for numbers (with the cell's format) or a :class:`_Dated`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return Num(value, number_format or "General")
    if isinstance(value, (datetime, date, time)):
        return _Dated(value.isoformat())
    return str(value)


def _as_text(value: object) -> str:
    if isinstance(value, Num):
        return value.text()
    if isinstance(value, _Dated):
        return value.text
    return str(value)
