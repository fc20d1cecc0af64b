"""What a catalog import says back: the file-level error, each row's problems, the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aimanager.errors import PipelineError


class CatalogImportError(PipelineError):
    """The file as a whole cannot be imported (not CSV/XLSX, corrupt, mixed encodings, no header,
    a bad rates file, the database refused it)."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: ``file: row N: column (cell): message``."""

    file: str
    row: int
    field: str
    message: str
    cell: str | None = None  # spreadsheet reference (``J5``) when the row came from a file

    def __str__(self) -> str:
        where = f"{self.field} ({self.cell})" if self.cell else self.field
        return f"{self.file}: row {self.row}: {where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, with ``checked``, would do): counts, rejected rows and why, warnings."""

    file: str
    rows: int = 0
    imported_rows: int = 0
    partners_created: int = 0
    products_created: int = 0
    products_updated: int = 0
    listings_created: int = 0
    listings_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: bool = False  # --check: validated and counted, nothing written
    # "USD→UZS at 12650 (rates.toml)" → how many costs were converted with that rate
    conversions: Counter[str] = field(default_factory=Counter)

    @property
    def bad_rows(self) -> list[int]:
        """Numbers of the rejected rows, ascending."""
        return sorted({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        """True when every row was imported (or, checked, would be)."""
        return not self.errors

    def per_row(self) -> list[str]:
        """One line per rejected row, every problem of the row on it, rows ascending."""
        by_row: dict[int, list[RowError]] = {}
        for err in self.errors:
            by_row.setdefault(err.row, []).append(err)
        lines = []
        for row in sorted(by_row):
            parts = [f"{e.field} ({e.cell}): {e.message}" if e.cell else f"{e.field}: {e.message}"
                     for e in by_row[row]]  # fmt: skip
            lines.append(f"row {row}: " + "; ".join(parts))
        return lines

    def notes(self) -> list[str]:
        """What the import did that the user should know besides the counts (conversions)."""
        return [f"{n} cost price(s) converted {what}" for what, n in sorted(self.conversions.items())]

    def summary(self) -> str:
        """One line for a CLI."""
        counts = (
            f"({self.products_created} products new, {self.products_updated} updated, "
            f"{self.listings_created + self.listings_updated} listings)"
        )
        if self.checked:
            return (
                f"{self.file}: check only, nothing written: {self.imported_rows}/{self.rows} rows would be "
                f"imported {counts}, {len(self.bad_rows)} rows rejected"
            )
        return (
            f"{self.file}: {self.imported_rows}/{self.rows} rows imported {counts}, "
            f"{len(self.bad_rows)} rows rejected"
        )
