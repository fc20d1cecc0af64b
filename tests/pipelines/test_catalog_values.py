"""Cell values: numbers as people write them, ambiguous ones refused; percent cells; identifiers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from aimanager.pipelines.catalog.values import Num, gtin_valid, identifier_text, parse_number, percent_of


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 250 000,50", "1250000.50"),
        ("1250000.50", "1250000.50"),
        ("1 250 000", "1250000"),
        ("1\u00a0250\u00a0000,5", "1250000.5"),  # no-break space (Excel, Russian locale)
        ("1\u202f250\u202f000", "1250000"),  # narrow no-break space
        ("1,250,000.50", "1250000.50"),
        ("1.250.000,50", "1250000.50"),
        ("1,250,000", "1250000"),
        ("1 250,500", "1250.500"),  # spaces group the thousands, so the comma is the decimal mark
        ("1250.500", "1250.500"),  # four digits before the mark: it cannot be a thousands separator
        ("0,250", "0.250"),
        ("12,5", "12.5"),
        ("17.5", "17.5"),
        ("-5", "-5"),
        ("3.0", "3.0"),
    ],
)
def test_numbers_people_write(text: str, value: str) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,250", "ambiguous number '1,250': 1250 or 1.25?"),
        ("1.250", "ambiguous number '1.250': 1250 or 1.25?"),
        ("250.000", "ambiguous number '250.000': 250000 or 250? write 250000 (or 250 000) for the thou"),
        ("12 50", "misplaced thousands separator"),
        ("1,2,3", "misplaced thousands separator"),
        ("1 250.000,5", "mixes three kinds of separators"),
        ("4.6E+12", "scientific notation"),
        ("250 000 сум", "not a number"),
        ("1,", "not a number"),
        ("", "empty number"),
    ],
)
def test_numbers_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_number(text)


def test_percent_cells() -> None:
    assert percent_of("15") == percent_of("15 %") == percent_of("15%") == 15
    assert percent_of(Num(0.15, "0%")) == 15  # an Excel percent cell holds the fraction
    assert percent_of(Num(0.175, "0.0%")) == Decimal("17.5")
    assert percent_of(Num(15, "General")) == 15
    assert percent_of(Num(0.15, '0.00" %"')) == Decimal("0.15")  # a quoted "%" is a literal, not a percent


def test_identifiers() -> None:
    assert identifier_text("00123") == "00123"
    assert identifier_text(Num(123, "00000")) == "00123"
    assert identifier_text(Num(4006381333931), barcode=True) == "4006381333931"
    assert identifier_text(Num(36000291452, "000000000000"), barcode=True) == "036000291452"  # UPC-A
    with pytest.raises(ValueError, match="not a valid GTIN"):
        identifier_text(Num(36000291452), barcode=True)  # the UPC's leading zero was lost
    with pytest.raises(ValueError, match="not a valid GTIN"):
        identifier_text(Num(4.6e12), barcode=True)
    with pytest.raises(ValueError, match="scientific notation"):
        identifier_text("4,60E+12")
    assert gtin_valid("4600000000015") and gtin_valid("00012345600012") and not gtin_valid("4600000000017")
