"""Vectorised parsers of text columns: strings, numbers, ISO 8601 date-times, dates, rounds.

Values come as pandas Series of ``str`` (as read from the file); numbers and instants come out
as float64 arrays with NaN where a value is missing or unparseable (timestamps in microseconds
since 1970-01-01 UTC, dates in days since 1970-01-01). Helpers named ``by_unique`` and the
``few`` paths work on the distinct values only (low-cardinality columns).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: ISO alpha-3 codes separated by ``;`` (the ``codes`` column kind, once normalised).
CODES = re.compile(r"^[A-Z]{3}(?:;[A-Z]{3})*$")
_ROUND = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}|\d{2}-\d{2}))?$")


def distinct_mapped(s: pd.Series, func: Callable[[pd.Series], pd.Series]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``func`` of the distinct values of ``s`` only, and the position of each value of ``s``
    among them: ``mapped[codes]`` is ``func(s)``, and a mask of ``mapped`` costs one test per
    distinct value (fast for low-cardinality columns)."""
    codes, uniques = pd.factorize(s, sort=False)
    return codes, func(pd.Series(uniques, dtype=object)).to_numpy()


def by_unique(s: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``func`` to the distinct values of ``s`` only (fast for low-cardinality columns)."""
    codes, mapped = distinct_mapped(s, func)
    return pd.Series(mapped[codes], index=s.index)


def normalise_token(s: pd.Series) -> pd.Series:
    return s.str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def suggest(value: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def show(value: object, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def strings(raw: pd.Series, few: bool = True) -> pd.Series:
    """Values without surrounding blanks; with ``few`` distinct values, stripped once each."""
    arr = raw.to_numpy(dtype=object)
    try:
        if few:
            codes, uniques = pd.factorize(arr, sort=False)
            stripped = np.array([u.strip() for u in uniques.tolist()] + [""], dtype=object)
            out = stripped[codes] if len(codes) else np.empty(0, dtype=object)
        else:
            out = np.array([x.strip() for x in arr.tolist()] + [""], dtype=object)[:-1]
    except AttributeError:  # not only strings (the readers give strings): make them so
        text = ["" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)
                for x in arr.tolist()]
        return strings(pd.Series(text, index=raw.index, dtype=object), few)
    return pd.Series(out, index=raw.index, dtype=object)


def empty(v: pd.Series) -> np.ndarray:
    """Mask of empty strings."""
    return np.asarray(v.to_numpy(dtype=object) == "", dtype=bool)


def lengths(v: pd.Series) -> np.ndarray:
    """The length of each value (strings, as ``strings`` gives them); five times faster than
    ``Series.str.len``, which checks every value for a missing one first."""
    arr = v.to_numpy(dtype=object)
    return np.fromiter(map(len, arr), dtype=np.int64, count=len(arr))


def has_nul(v: pd.Series, check: bool) -> np.ndarray:
    """Mask of the values holding a NUL character (none when ``check`` is off)."""
    if not check:
        return np.zeros(len(v), dtype=bool)
    try:  # the column as one string first: most hold no NUL, and one search is ~30x faster
        if "\x00" not in "".join(v.to_numpy(dtype=object).tolist()):
            return np.zeros(len(v), dtype=bool)
    except TypeError:  # not only strings
        pass
    return v.str.contains("\x00", regex=False, na=False).to_numpy()


def arrow_text(values: np.ndarray) -> pa.Array | None:
    """``values`` (strings, None or NaN for none) as an Arrow string array, or None when some
    cannot be one (another type, a lone surrogate): the callers' Arrow paths then step aside."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None


def fullmatch(v: pd.Series, pattern: re.Pattern[str], re2: str) -> np.ndarray:
    """Mask of the string values matching ``pattern`` in whole (False for non-strings).

    ``re2`` is the same pattern, anchored, for pyarrow's RE2 engine, which runs in C++ about
    ten times faster than ``re`` over Python strings. It is used for ASCII values only: there
    the two engines agree (``\\d`` and ``\\s`` differ beyond ASCII), and Python's ``re``
    reads the rest."""
    values = v.to_numpy(dtype=object)
    arr = arrow_text(values)
    if arr is None:
        return v.str.fullmatch(pattern, na=False).to_numpy(dtype=bool)
    ascii_ = pc.fill_null(pc.string_is_ascii(arr), True).to_numpy(zero_copy_only=False)
    out = pc.fill_null(pc.match_substring_regex(arr, re2), False).to_numpy(zero_copy_only=False)
    out = np.asarray(out, dtype=bool)
    if not ascii_.all():
        rest = np.flatnonzero(~np.asarray(ascii_, dtype=bool))
        out[rest] = [isinstance(x, str) and pattern.fullmatch(x) is not None
                     for x in values[rest].tolist()]
    return out


#: Plain decimals (``-12.5``, ``.5``, ``7.``) with at most 15 digits: for these pandas'
#: parser (``precise_xstrtod``: the digits as a whole number, exact in a double, then one
#: multiplication or division by an exact power of ten) rounds correctly, as Arrow's does, so
#: both give the same double. Other text (exponents, ``+``, 16 digits and more, ``inf``...) is
#: read by pandas.
_PLAIN_DECIMAL = r"^-?(?:\d+\.?\d*|\.\d+)$"
_MAX_EXACT_DIGITS = 15


def parse_numbers(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Numbers of a text column exactly as pandas' ``to_numeric`` reads them (NaN when missing
    or not a number); plain decimals are parsed by Arrow in C++, outside the GIL (a load's
    threads share it: 70 ms of it per million values instead of 270).

    pandas reads a column of whole numbers only as integers (``-0`` is then 0, not -0.0), any
    other column value by value as floats. Arrow's path is taken only when the column is read
    as floats: it holds a decimal point or an empty value; the values left to pandas are read
    with a decimal appended, so that pandas reads them as floats too."""
    values = v.to_numpy(dtype=object)
    arr = arrow_text(values)
    if arr is None:
        return _to_numeric(values, missing)
    dot = pc.match_substring(arr, ".")
    digits = pc.subtract(pc.subtract(pc.binary_length(arr), pc.cast(dot, pa.int32())),
                         pc.cast(pc.starts_with(arr, "-"), pa.int32()))  # of a plain decimal
    plain = pc.fill_null(pc.and_(pc.match_substring_regex(arr, _PLAIN_DECIMAL),
                                 pc.less_equal(digits, _MAX_EXACT_DIGITS)), False)
    floats = pc.or_(pc.and_(plain, dot), pc.equal(pc.binary_length(arr), 0))
    if not pc.any(pc.fill_null(floats, True)).as_py():
        return _to_numeric(values, missing)
    nums = np.full(len(values), np.nan)
    at = plain.to_numpy(zero_copy_only=False)
    nums[at] = pc.cast(arr.filter(plain), pa.float64()).to_numpy()
    rest = np.flatnonzero(~at & (values != ""))
    if len(rest):
        nums[rest] = _to_numeric(np.append(values[rest], "0.5"), None)[:-1]
    nums[missing] = np.nan
    return nums


def _to_numeric(values: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    nums = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    if missing is not None:
        nums[missing] = np.nan  # "" is NaN already
    return nums


#: What a date-time may look like: ``YYYY-MM-DD``, alone or with ``T`` or a space and
#: ``HH:MM``, optional seconds and fraction, optional offset (``Z``, ``+02``, ``+0200``,
#: ``+02:00``, ``+2:00``). Anything else (``2024/05/01``, ``2024-5-1``, ``20240501``) is not accepted.
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?\s*"
    r"(?:Z|[+-]\d{1,2}(?::?\d{2})?)?)?", re.I)
#: The same pattern for pyarrow (RE2), which reads ASCII text only alike (see ``fullmatch``).
ISO_DATETIME_RE2 = "(?i)^(?:" + ISO_DATETIME.pattern.replace(
    r"\s", r"[\t\n\x0b\x0c\r\x1c-\x1f ]") + ")$"  # re's \s over ASCII text
_OFFSET = re.compile(r"(?:Z|([+-])(\d{1,2})(?::?(\d{2}))?)$", re.I)
#: The largest UTC offset in use anywhere (Kiribati, +14:00), in minutes.
MAX_OFFSET_MINUTES = 14 * 60


def _offset_of(suffix: str) -> tuple[int, float]:
    """(characters to strip, offset in minutes) of a date-time's last six characters; the
    offset is NaN when it cannot exist (beyond ±14:00, or 60 minutes and more)."""
    m = _OFFSET.search(suffix)
    if m is None:
        return 0, 0.0
    if m.group(1) is None:
        return 1, 0.0
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    total = hours * 60 + minutes
    if minutes > 59 or total > MAX_OFFSET_MINUTES:
        return len(m.group(0)), float("nan")
    return len(m.group(0)), float(total if m.group(1) == "+" else -total)


def parse_timestamps(v: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 strings -> float microseconds since the epoch (UTC); NaN when unparseable.

    Returns the values and a mask of those refused for an offset that cannot exist (beyond
    ±14:00). Only the shapes of ``ISO_DATETIME`` are read. The offset is cut off and read from
    the few distinct suffixes; the naive rest is parsed by pandas' fast ISO 8601 path and
    shifted (numpy's parser takes the years pandas cannot hold, after 2262). Date-only values
    and values without an offset are UTC.
    """
    out = np.full(len(v), np.nan)
    bad_offset = np.zeros(len(v), dtype=bool)
    present = ~missing
    if present.any():
        present = fullmatch(v, ISO_DATETIME, ISO_DATETIME_RE2) & present
    if not present.any():
        return out, bad_offset
    vals = v[present].to_numpy(dtype=object)
    split = _split_offsets_arrow(vals)
    heads, offset = split if split is not None else _split_offsets(vals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = pd.to_datetime(heads, format="ISO8601", errors="coerce")
    ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    nat = ts.isna().to_numpy()
    ns[nat] = np.nan
    micros = ns / 1000.0
    if nat.any():  # years pandas cannot hold (after 2262): numpy's microseconds
        micros[nat] = [_micros(h) for h in heads[nat].tolist()]
    where = np.flatnonzero(present)
    out[where] = micros - offset * 60e6
    bad_offset[where] = np.isnan(offset)
    return out, bad_offset


#: What ``str.rstrip()`` removes from ASCII text.
_ASCII_BLANKS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def _offsets_of(suffixes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(characters to strip, offset in minutes) of each of a few distinct suffixes."""
    table = [_offset_of(u) for u in suffixes]
    return (np.array([t[0] for t in table], dtype=np.int64),
            np.array([t[1] for t in table], dtype=float))


def _split_offsets(vals: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Date-times (matching ``ISO_DATETIME``) without their UTC offset (and the blanks before
    it), and the offset in minutes (NaN when it cannot exist), in Python."""
    timed = np.fromiter((len(x) > 10 for x in vals), dtype=bool, count=len(vals))
    strip = np.zeros(len(vals), dtype=np.int64)
    offset = np.zeros(len(vals))
    if timed.any():
        suffixes = pd.Series([x[-6:] for x in vals[timed]], dtype=object)
        codes, uniques = pd.factorize(suffixes)
        cut, minutes = _offsets_of(list(uniques))
        strip[timed], offset[timed] = cut[codes], minutes[codes]
    heads = pd.Series(
        [x[: len(x) - k].rstrip() if k else x for x, k in zip(vals, strip.tolist(), strict=True)],
        dtype=object,
    )
    return heads, offset


def _split_offsets_arrow(vals: np.ndarray) -> tuple[pd.Series, np.ndarray] | None:
    """``_split_offsets`` in Arrow's C++ (two to three times faster), for ASCII text only
    (there string lengths and blanks are the same in both); None for other text."""
    arr = arrow_text(vals)
    if arr is None or not pc.all(pc.string_is_ascii(arr)).as_py():
        return None
    timed = pc.greater(pc.binary_length(arr), 10).to_numpy(zero_copy_only=False)
    suffixes = pc.utf8_slice_codeunits(arr, -6).dictionary_encode()
    cut, minutes = _offsets_of(suffixes.dictionary.to_pylist())
    codes = suffixes.indices.to_numpy(zero_copy_only=False)
    strip = np.where(timed, cut[codes], 0)
    offset = np.where(timed, minutes[codes], 0.0)
    heads = np.empty(len(vals), dtype=object)
    for k in np.unique(strip).tolist():
        at = np.flatnonzero(strip == k)
        part = arr.take(pa.array(at))
        if k:
            part = pc.utf8_rtrim(pc.utf8_slice_codeunits(part, 0, -k), characters=_ASCII_BLANKS)
        heads[at] = part.to_numpy(zero_copy_only=False)
    return pd.Series(heads, dtype=object), offset


def _micros(text: str) -> float:
    try:
        return float(np.datetime64(text.replace(" ", "T").replace(",", "."), "us")
                     .astype("int64"))
    except ValueError:
        return np.nan


def parse_dates(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    """YYYY-MM-DD -> days since the epoch (float, NaN when missing or unparseable)."""

    def conv(u: pd.Series) -> pd.Series:
        ok = u.str.fullmatch(r"\d{4}-\d{2}-\d{2}", na=False)
        d = pd.to_datetime(u.where(ok, None), format="%Y-%m-%d", errors="coerce")
        days = d.to_numpy(dtype="datetime64[D]").astype("int64").astype(float)
        nat = d.isna().to_numpy()
        days[nat] = np.nan
        late = nat & ok.to_numpy(dtype=bool)  # years pandas cannot hold (after 2262)
        if late.any():
            days[late] = [_days(x) for x in u[late].tolist()]
        return pd.Series(days)

    out = np.full(len(v), np.nan)
    if (~missing).any():
        out[~missing] = by_unique(v[~missing], conv).to_numpy(dtype=float)
    return out


def _days(text: str) -> float:
    try:
        return float(np.datetime64(text, "D").astype("int64"))
    except ValueError:
        return np.nan


def round_date(label: str) -> float:
    """Days since the epoch of the start of an assessment round, NaN when not a round."""
    m = _ROUND.match(label)
    if not m:
        return np.nan
    year, part = int(m.group(1)), m.group(2)
    try:
        if part is None:
            d = date(year, 1, 1)
        elif part.startswith("H"):
            d = date(year, 1 if part == "H1" else 7, 1)
        elif part.startswith("Q"):
            d = date(year, 3 * int(part[1]) - 2, 1)
        elif len(part) == 2:
            d = date(year, int(part), 1)
        else:
            d = date(year, int(part[:2]), int(part[3:]))
    except ValueError:
        return np.nan
    return float((d - date(1970, 1, 1)).days)


def days_since_epoch(d: date) -> float:
    return float((d - date(1970, 1, 1)).days)

