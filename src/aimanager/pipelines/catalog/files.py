"""Reading catalog files: CSV (UTF-8 or Windows-1251; comma, semicolon or tab) and XLSX (openpyxl).

Every problem with the file as a whole raises :class:`CatalogImportError` with one clear sentence.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aimanager.pipelines.catalog.rows import (
    LISTING_FIELDS,
    MAX_FILE_BYTES,
    PREFIXES,
    PRODUCT_COLUMNS,
    REQUIRED_COLUMNS,
    CatalogImportError,
    ImportReport,
    clean_text,
)


def read_rows(path: Path, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row number, {column: text})`` of a CSV or XLSX file; raise on an unreadable file."""
    if not path.is_file():
        raise CatalogImportError(f"{path.name}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CatalogImportError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise CatalogImportError(f"{path.name}: not a CSV or XLSX file (extension {suffix or 'none'})")
    header: list[str] | None = None
    for row_no, values in rows:
        if header is None:
            header = _header(path.name, values, report)
            continue
        if not any(v.strip() for v in values):
            continue
        yield row_no, {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}
    if header is None:
        raise CatalogImportError(f"{path.name}: empty file, no header row")


def _header(file: str, values: list[str], report: ImportReport) -> list[str]:
    header = [clean_text(v).lower().replace(" ", "_") for v in values]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogImportError(f"{file}: header row lacks required column(s): {', '.join(missing)}")
    known = set(PRODUCT_COLUMNS) | {f"{p}_{f}" for p in PREFIXES for f in LISTING_FIELDS}
    unknown = [h for h in header if h and h not in known]
    if unknown:
        report.warnings.append(
            f"{file}: unknown column(s) ignored: {', '.join(u[:40] for u in unknown[:10])}"
        )
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise CatalogImportError(f"{file}: duplicate column(s): {', '.join(sorted(dupes))}")
    return [h if h in known else "" for h in header]


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise CatalogImportError(f"{path.name}: binary content, not a CSV text file")
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1251 decodes almost any byte string
        raise CatalogImportError(f"{path.name}: not UTF-8 or Windows-1251 text")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_FILE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise CatalogImportError(f"{path.name}: malformed CSV near line {reader.line_num}: {exc}") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
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
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield index, [_cell(v) for v in values]
    except CatalogImportError:
        raise
    except Exception as exc:
        raise CatalogImportError(f"{path.name}: XLSX sheet cannot be read ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _cell(value: Any) -> str:
    """XLSX cell → text. Floats are formatted to 15 significant digits (Excel's precision), never kept."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
