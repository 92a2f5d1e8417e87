"""The fast paths of ``etl.validate.parse`` give what the plain ones give: the date-time shape
read by RE2 (pyarrow) for ASCII values and by ``re`` for the rest, the NUL search done on a
whole column first."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl.validate.parse import (
    ISO_DATETIME,
    ISO_DATETIME_RE2,
    _split_offsets,
    _split_offsets_arrow,
    fullmatch,
    has_nul,
    parse_numbers,
)

SHAPES = ["2024-05-01", "2024-05-01T02:15:00+02:00", "2024-05-01 02:15", "2024-05-01t02:15z",
          "2024-05-01T02:15:00.123Z", "2024-05-01T02:15 +0200", "2024-05-01T02:15:00,5-3:30"]
#: Every ASCII character (controls and re's extra blanks \x0b, \x1c-\x1f included) and a few
#: beyond ASCII that re reads as digits or blanks.
CHARS = st.sampled_from([chr(i) for i in range(128)] + ["٢", "\u0660", "\u00a0", "\u2003", "é"])


@st.composite
def near_dates(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(SHAPES)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        what = draw(st.sampled_from(["insert", "delete", "replace"]))
        if what == "insert":
            text.insert(at, draw(CHARS))
        elif text:
            at = min(at, len(text) - 1)
            if what == "delete":
                text.pop(at)
            else:
                text[at] = draw(CHARS)
    return "".join(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(near_dates() | st.text(CHARS, max_size=30), min_size=1, max_size=300))
def test_the_date_time_shape_is_read_alike_by_both_engines(values: list[str]) -> None:
    v = pd.Series(values, dtype=object)
    expected = v.str.fullmatch(ISO_DATETIME, na=False).to_numpy(dtype=bool)
    assert fullmatch(v, ISO_DATETIME, ISO_DATETIME_RE2).tolist() == expected.tolist()


@settings(max_examples=80, deadline=None)
@given(st.lists(near_dates(), min_size=1, max_size=200))
def test_offsets_are_cut_alike_by_arrow_and_python(values: list[str]) -> None:
    """What the date-time parser hands to pandas (the value without its UTC offset) and the
    offset read: the same from Arrow's string functions as from Python's, for ASCII text."""
    blanks = [f"2024-05-01T02:15{chr(c)}{chr(c)}+02:00" for c in (9, 11, 12, 13, 28, 31, 32)]
    shaped = [x for x in values if ISO_DATETIME.fullmatch(x)] + blanks
    vals = np.array(shaped, dtype=object)
    fast = _split_offsets_arrow(vals)
    plain_heads, plain_offsets = _split_offsets(vals)
    if not all(x.isascii() for x in shaped):
        assert fast is None  # Python reads text beyond ASCII
        return
    assert fast is not None
    assert fast[0].tolist() == plain_heads.tolist()
    np.testing.assert_array_equal(fast[1], plain_offsets)  # NaN where the offset cannot exist


def test_blanks_that_re_and_re2_read_differently() -> None:
    """re's \\s also takes \\x0b and \\x1c-\\x1f; RE2's does not."""
    values = [f"2024-05-01T02:15{chr(c)}+02:00" for c in range(128)] + ["٢٠٢٤-05-01"]
    v = pd.Series(values, dtype=object)
    expected = [c in (9, 10, 11, 12, 13, 28, 29, 30, 31, 32) for c in range(128)] + [True]
    assert fullmatch(v, ISO_DATETIME, ISO_DATETIME_RE2).tolist() == expected


def test_the_shape_of_values_that_are_not_all_text() -> None:
    v = pd.Series(["2024-05-01", None, 3.5, "2024-05-01T02:15\x0b+02:00", "٢٠٢٤-05-01"],
                  dtype=object)
    assert fullmatch(v, ISO_DATETIME, ISO_DATETIME_RE2).tolist() == [True, False, False, True,
                                                                      True]


def test_nul_is_found_wherever_it_is() -> None:
    clean = pd.Series(["a", "", "bc"] * 1000, dtype=object)
    assert not has_nul(clean, True).any()
    dirty = clean.copy()
    dirty[1500] = "b\x00c"
    assert np.flatnonzero(has_nul(dirty, True)).tolist() == [1500]
    assert not has_nul(dirty, False).any()
    assert has_nul(pd.Series(["\x00", None, 1.5], dtype=object), True).tolist() == [
        True, False, False]


#: Digits, signs, points, exponents, blanks and a few characters beyond ASCII.
NUMBER_CHARS = st.sampled_from(list("0123456789") * 4 + list("+-.eE _x") + ["٣", "\u00a0"])
NUMBERS = (st.text(NUMBER_CHARS, max_size=24)
           | st.floats(allow_nan=True, allow_infinity=True).map(repr)
           | st.from_regex(r"-?[0-9]{0,12}\.?[0-9]{0,12}", fullmatch=True)
           | st.sampled_from(["inf", "-inf", "nan", "NaN", "1e400", "", "-0", "+.5", "7."]))


@settings(max_examples=150, deadline=None)
@given(st.lists(NUMBERS, min_size=1, max_size=200))
@example(["-0"]).via("whole numbers only: pandas reads integers, -0 is 0")
@example(["-0", "1"]).via("whole numbers only")
@example(["-0", "1.5"]).via("a decimal: floats, -0 is -0.0")
@example(["-0", ""]).via("an empty value: floats")
@example([" -0", "1.5"]).via("left to pandas, read as floats as in the whole column")
@example(["12345678901234567891", "1.5"]).via("20 digits, read as a float")
@example(["12345678901234567891"]).via("20 digits, read as an integer")
def test_numbers_are_read_as_pandas_reads_them(values: list[str]) -> None:
    """Bit for bit (the sign of zero and NaN included): the stored value and the content hash
    of a row must not depend on which parser read it."""
    v = pd.Series(values, dtype=object)
    missing = np.zeros(len(v), dtype=bool)
    expected = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)
    got = parse_numbers(v, missing)
    nan = np.isnan(expected)
    assert np.isnan(got).tolist() == nan.tolist()
    assert got[~nan].view(np.int64).tolist() == expected[~nan].view(np.int64).tolist()
