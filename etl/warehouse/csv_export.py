"""The one CSV format borderwatch writes: every cell that a spreadsheet would run as a formula
is escaped.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
``'`` (the OWASP advice against CSV injection: ``=cmd|' /C calc'!A0`` must stay text when the
file is opened in a spreadsheet). The rule is for text: a value that IS a number (``int``,
``float``, ``Decimal``, a NumPy number; not ``bool``) is written as the number, so a z-score of
``-1.23`` stays a number a spreadsheet or pandas can read; no number's text starts a formula.
Text that merely looks like a number (``"-5"``, a raw cell of a rejected row) is escaped like
any other text: the cell reads ``'-5``. None, NaN, infinities, ``pd.NA`` and ``pd.NaT`` are the
empty cell (a missing value is never a zero or the word ``nan``); dates and times are ISO 8601.
Every CSV written by borderwatch (``borderwatch rejects --csv``, the analyses' ``--out`` files,
the dashboard's exports) goes through ``writer``, ``iter_csv`` or ``safe_cell``.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk by :func:`iter_csv`.
CHUNK_ROWS = 1000


def safe_cell(value: Any) -> str:
    """``value`` as CSV cell text, escaped with a leading ``'`` when it could run as a formula
    (None and NaN are the empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool):
        if isinstance(value, numbers.Real) and not math.isfinite(value):
            return ""  # NaN (a missing value in a DataFrame) or an infinity
        return str(value)  # a number, not text: -1.23 stays a number
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, stream: TextIO, **options: Any) -> None:
        options.setdefault("lineterminator", "\n")
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: TextIO, **options: Any) -> SafeWriter:
    """A CSV writer on ``stream`` that escapes formula-like cells (``csv.writer`` options)."""
    return SafeWriter(stream, **options)


def iter_csv(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows`` in chunks of ``CHUNK_ROWS`` rows, for a streamed
    response (the same cells as :func:`writer`)."""
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow(header)
    for n, row in enumerate(rows, start=1):
        out.writerow(row)
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
