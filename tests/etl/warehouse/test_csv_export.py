"""The one CSV format: text that a spreadsheet would run is escaped, numbers stay numbers,
missing values are empty, dates are ISO 8601."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from etl.warehouse.csv_export import CHUNK_ROWS, iter_csv, safe_cell, writer


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


def test_missing_values_are_empty_and_dates_iso() -> None:
    assert [safe_cell(v) for v in (float("nan"), np.nan, pd.NA, pd.NaT, float("inf"))] == [""] * 5
    assert safe_cell(date(2024, 5, 1)) == "2024-05-01"
    assert safe_cell(datetime(2024, 5, 1, 8, 30, tzinfo=UTC)) == "2024-05-01T08:30:00+00:00"


def test_writer_escapes_each_text_cell_and_reads_back() -> None:
    buffer = io.StringIO()
    writer(buffer).writerow(["=A1", -1.5, "x,y", None])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=A1", "-1.5", "x,y", ""]


def test_iter_csv_round_trips_through_a_csv_reader() -> None:
    rows = [("=HYPERLINK(\"x\")", -1.5, "a,b \"q\"\nline"), ("plain", 2, None)]
    text = "".join(iter_csv(["name", "gap", "note"], rows))
    back = list(csv.reader(io.StringIO(text)))
    assert back == [["name", "gap", "note"], ["'=HYPERLINK(\"x\")", "-1.5", "a,b \"q\"\nline"],
                    ["plain", "2", ""]]


def test_iter_csv_streams_in_chunks() -> None:
    chunks = list(iter_csv(["n"], ([i] for i in range(CHUNK_ROWS * 2 + 5))))
    assert len(chunks) == 3
    assert "".join(chunks).count("\n") == CHUNK_ROWS * 2 + 6
