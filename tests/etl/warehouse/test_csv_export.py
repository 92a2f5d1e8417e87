"""The one CSV format: text that a spreadsheet would run is escaped, numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import numpy as np
import pytest

from etl.warehouse.csv_export import safe_cell, writer


@pytest.mark.parametrize("text", ["=1+2", "+1", "-5", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"])
def test_text_that_could_run_as_a_formula_is_escaped(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value,expected", [
    (-1.23, "-1.23"), (-7, "-7"), (np.float64(-0.5), "-0.5"), (np.int32(-3), "-3"),
    (Decimal("-2.50"), "-2.50"), (0, "0"),
])
def test_numbers_are_written_as_numbers(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_plain_text_none_and_bools_pass_unchanged() -> None:
    assert safe_cell("Horgoš") == "Horgoš"
    assert safe_cell(None) == ""
    assert safe_cell(True) == "True"


def test_writer_escapes_each_text_cell_and_reads_back() -> None:
    buffer = io.StringIO()
    writer(buffer).writerow(["=A1", -1.5, "x,y", None])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=A1", "-1.5", "x,y", ""]
