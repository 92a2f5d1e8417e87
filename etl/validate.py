"""Vectorised validation of one chunk of input rows against a source's declared columns.

Every problem of a row is collected (never only the first) as an ``etl.runs.Reason``; a row
with at least one problem becomes a ``Reject`` carrying its original text. Rows are checked
column by column with pandas/numpy; Python loops run only over the rejected rows and over the
few distinct values of low-cardinality columns.

Duplicates inside one file are tracked across chunks by 2 x 64-bit hashes of the natural key
and of the content: the first occurrence of a key wins; a later row with the same key and the
same content is an *exact duplicate* (counted ``unchanged``, nothing written); a later row with
the same key and different content is rejected as ``duplicate_conflict``.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays

from etl.runs import Reason, Reject

ColumnKind = Literal["text", "enum", "ref", "int", "float", "timestamp", "date", "codes", "round"]

#: Reserved reader columns (never user data).
ROW = "__row"
OVERFLOW = "__overflow"
GEOM_LON = "__geom_lon"
GEOM_LAT = "__geom_lat"
GEOM_TYPE = "__geom_type"
GEOM_WKT = "__geom_wkt"
RESERVED = (ROW, OVERFLOW, GEOM_LON, GEOM_LAT, GEOM_TYPE, GEOM_WKT)

#: The region: lon_min, lat_min, lon_max, lat_max (Slovenia to eastern Türkiye, Crete to Hungary).
REGION_BBOX = (12.0, 35.0, 46.0, 48.0)
EARLIEST = date(1990, 1, 1)
FUTURE_TOLERANCE = timedelta(minutes=10)
INT32_MAX = 2**31 - 1
_HASH_KEYS = ("borderwatch-k1-0", "borderwatch-k2-0")
#: Column kinds whose values are mostly distinct (parsed value by value, not per distinct value).
DENSE_KINDS = ("text", "float", "timestamp")
_AWARE = re.compile(r"\d[T ]\d{1,2}(?::?\d{2})*(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.I)
_CODES = re.compile(r"^[A-Z]{3}(?:;[A-Z]{3})*$")
_ROUND = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}|\d{2}-\d{2}))?$")


@dataclass(frozen=True)
class Column:
    """One input column: its type and rules.

    Parameters
    ----------
    name
        Normalised header name (lower case, ``_`` for spaces and hyphens).
    kind
        ``text``, ``enum`` (one of ``choices``), ``ref`` (a code of reference set ``ref``),
        ``int``, ``float``, ``timestamp`` (ISO 8601, UTC when no offset), ``date``
        (YYYY-MM-DD), ``codes`` (``;``-separated ISO alpha-3) or ``round`` (assessment round).
    required
        An empty value is a ``missing_value`` reject.
    target
        Column of the warehouse table; ``None`` for input-only columns (lat, lon).
    """

    name: str
    kind: ColumnKind = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    not_future: bool = False
    max_length: int | None = None
    case: Literal["lower", "upper", "keep"] = "keep"
    default: str | None = None
    target: str | None = ""
    aliases: tuple[str, ...] = ()

    @property
    def target_name(self) -> str | None:
        return self.name if self.target == "" else self.target


@dataclass
class References:
    """Known codes of the reference tables (and BCP positions) used to check a chunk."""

    codes: dict[str, set[Any]] = field(default_factory=dict)
    bcp_lonlat: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class Context:
    """What validation compares against: the clock and the region's bounding box."""

    now: datetime
    region_bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max
    check_nul: bool = True  # False when the file is known to hold no NUL byte


class Problems:
    """Problems of a chunk, collected as (row mask, code, field, message) before becoming reasons."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._items: list[tuple[np.ndarray, str, str | None, str | Callable[[int], str]]] = []

    def add(
        self, mask: np.ndarray | pd.Series, code: str, field_name: str | None,
        message: str | Callable[[int], str],
    ) -> None:
        """Record ``code`` for every row where ``mask`` is true (``message`` may depend on the row)."""
        arr = np.array(mask, dtype=bool, copy=True)  # callers go on to modify their masks
        if arr.any():
            self._items.append((arr, code, field_name, message))

    def bad(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for mask, *_ in self._items:
            out |= mask
        return out

    def reasons(self, rows: np.ndarray) -> dict[int, list[Reason]]:
        """Reasons per chunk position, for the given positions, in the order found."""
        wanted = np.zeros(self.n, dtype=bool)
        wanted[rows] = True
        out: dict[int, list[Reason]] = {int(i): [] for i in rows}
        for mask, code, fname, message in self._items:
            for i in np.flatnonzero(mask & wanted):
                text = message if isinstance(message, str) else message(int(i))
                out[int(i)].append(Reason(code, fname, text))
        return out


@dataclass
class Parsed:
    """Typed values of one chunk: strings as objects (None when empty), numbers as float64 (NaN)."""

    values: dict[str, Any]
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None


@dataclass
class SourceSpec:
    """What one input kind looks like (the 'tap'): the runner in ``etl.load`` does the rest.

    Parameters
    ----------
    kind
        Name used on the command line (``incidents``).
    table
        Name of the warehouse table written.
    natural_key
        Input column names forming the key inside one file (``source`` is added for incidents).
    columns
        The declared columns in the interchange format.
    located
        Rows carry a point (lat/lon, GeoJSON point, or a ``bcp_code``) and are enriched.
    checks
        Extra cross-column rules ``f(parsed, problems)``.
    source_in_key
        ``source`` is part of the warehouse natural key.
    """

    kind: str
    table: str
    natural_key: tuple[str, ...]
    columns: tuple[Column, ...]
    located: bool = False
    checks: tuple[Callable[[Parsed, Problems], None], ...] = ()
    source_in_key: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def aliases(self) -> dict[str, str]:
        """Alias header name -> declared column name."""
        return {a: c.name for c in self.columns for a in c.aliases}

    def required_headers(self) -> list[list[str]]:
        """Header groups of which at least one must be present (any of each inner list)."""
        groups = [[c.name] for c in self.columns if c.required]
        if self.located:
            groups.append(["lat", "bcp_code", GEOM_LON])
            groups.append(["lon", "bcp_code", GEOM_LON])
        return groups


@dataclass
class ChunkResult:
    """Accepted rows (typed, ready to stage), rejects, and exact in-file duplicates."""

    accepted: dict[str, np.ndarray]
    accepted_rows: np.ndarray
    rejects: list[Reject]
    duplicates: int
    n_read: int


# --------------------------------------------------------------------------------------------
# column parsers


def _by_unique(s: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``func`` to the distinct values of ``s`` only (fast for low-cardinality columns)."""
    codes, uniques = pd.factorize(s, sort=False)
    mapped = func(pd.Series(uniques, dtype=object)).to_numpy()
    return pd.Series(mapped[codes], index=s.index)


def _normalise_token(s: pd.Series) -> pd.Series:
    return s.str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def _suggest(value: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _show(value: object, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _strings(raw: pd.Series, few: bool = True) -> pd.Series:
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
        return _strings(pd.Series(text, index=raw.index, dtype=object), few)
    return pd.Series(out, index=raw.index, dtype=object)


def _empty(v: pd.Series) -> np.ndarray:
    """Mask of empty strings."""
    return np.asarray(v.to_numpy(dtype=object) == "", dtype=bool)


def _has_nul(v: pd.Series, check: bool) -> np.ndarray:
    if not check:
        return np.zeros(len(v), dtype=bool)
    return v.str.contains("\x00", regex=False, na=False).to_numpy()


def _parse_numbers(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    nums = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)  # "" is NaN
    nums[missing] = np.nan
    return nums


_OFFSET = re.compile(r"(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$", re.I)


def _offset_of(suffix: str) -> tuple[int, float]:
    """(characters to strip, offset in minutes) of a date-time's last six characters."""
    m = _OFFSET.search(suffix)
    if m is None:
        return 0, 0.0
    if m.group(1) is None:
        return 1, 0.0
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    return len(m.group(0)), float(minutes if m.group(1) == "+" else -minutes)


def _parse_timestamps(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    """ISO 8601 strings -> float microseconds since the epoch (UTC); NaN when unparseable.

    The offset (``Z``, ``+02:00``, ``+0200``, ``-03``) is cut off and read from the few
    distinct suffixes; the naive rest is parsed by pandas' fast ISO 8601 path and shifted.
    Date-only values and values without an offset are UTC.
    """
    out = np.full(len(v), np.nan)
    present = ~missing
    if not present.any():
        return out
    vals = v[present].to_numpy(dtype=object)
    timed = np.fromiter((len(x) > 10 for x in vals), dtype=bool, count=len(vals))
    strip = np.zeros(len(vals), dtype=np.int64)
    offset = np.zeros(len(vals))
    if timed.any():
        suffixes = pd.Series([x[-6:] for x in vals[timed]], dtype=object)
        codes, uniques = pd.factorize(suffixes)
        table = [_offset_of(u) for u in uniques]
        strip[timed] = np.array([t[0] for t in table], dtype=np.int64)[codes]
        offset[timed] = np.array([t[1] for t in table])[codes]
    heads = pd.Series(
        [x[: len(x) - k].rstrip() if k else x for x, k in zip(vals, strip.tolist(), strict=True)],
        dtype=object,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = pd.to_datetime(heads, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):
        return _parse_timestamps_slow(v, missing)
    if str(ts.dtype) != "datetime64[ns]":  # an offset we did not recognise is left
        return _parse_timestamps_slow(v, missing)
    ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    ns[ts.isna().to_numpy()] = np.nan
    out[present] = ns / 1000.0 - offset * 60e6
    return out


def _parse_timestamps_slow(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Element-wise fallback: aware and naive values parsed apart (pandas mixes them up)."""
    out = np.full(len(v), np.nan)
    present = ~missing
    vals = v[present]
    aware = vals.str.contains(_AWARE, na=False).to_numpy()
    parsed = np.full(len(vals), np.nan)
    for group in (aware, ~aware):
        if group.any():
            ts = pd.to_datetime(vals[group], format="ISO8601", utc=True, errors="coerce")
            ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
            ns[ts.isna().to_numpy()] = np.nan
            parsed[group] = ns / 1000.0
    out[present] = parsed
    return out


def _parse_dates(v: pd.Series, missing: np.ndarray) -> np.ndarray:
    """YYYY-MM-DD -> days since the epoch (float, NaN when missing or unparseable)."""

    def conv(u: pd.Series) -> pd.Series:
        ok = u.str.fullmatch(r"\d{4}-\d{2}-\d{2}", na=False)
        d = pd.to_datetime(u.where(ok, None), format="%Y-%m-%d", errors="coerce")
        days = d.to_numpy(dtype="datetime64[D]").astype("int64").astype(float)
        days[d.isna().to_numpy()] = np.nan
        return pd.Series(days)

    out = np.full(len(v), np.nan)
    if (~missing).any():
        out[~missing] = _by_unique(v[~missing], conv).to_numpy(dtype=float)
    return out


def _round_date(label: str) -> float:
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


def _days(d: date) -> float:
    return float((d - date(1970, 1, 1)).days)


class _ColumnChecker:
    """Parses one chunk column by column, recording problems."""

    def __init__(
        self, spec: SourceSpec, frame: pd.DataFrame, refs: References, ctx: Context
    ) -> None:
        self.spec, self.frame, self.refs, self.ctx = spec, frame, refs, ctx
        self.n = len(frame)
        self.problems = Problems(self.n)
        self.values: dict[str, Any] = {}
        self.missing: dict[str, np.ndarray] = {}

    def raw(self, name: str) -> pd.Series:
        if name in self.frame.columns:
            col = self.frame[name]
            return col if col.dtype == object else col.astype(object).fillna("")
        return pd.Series([""] * self.n, index=self.frame.index, dtype=object)

    def run(self) -> None:
        for col in self.spec.columns:
            if self.spec.located and col.name in ("lat", "lon"):
                continue  # checked together, by _check_location
            self._column(col)

    def _column(self, col: Column) -> None:
        v = _strings(self.raw(col.name), few=col.kind not in DENSE_KINDS)
        missing = _empty(v)
        if col.default is not None:
            v = v.where(~missing, col.default)
            missing = np.zeros(self.n, dtype=bool)
        self.missing[col.name] = missing
        if col.required:
            self.problems.add(missing, "missing_value", col.name, f"{col.name} is required")
        nul = _has_nul(v, self.ctx.check_nul)
        self.problems.add(nul, "bad_text", col.name, f"{col.name} contains a NUL character")
        if nul.any():
            v = v.where(~nul, "")
        parser = getattr(self, f"_{col.kind}")
        parser(col, v, missing | nul)

    def _text(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        if col.case == "upper":
            v = v.str.upper()
        elif col.case == "lower":
            v = v.str.lower()
        if col.max_length:
            long = (v.str.len() > col.max_length).to_numpy() & ~missing
            self.problems.add(
                long, "bad_text", col.name, f"{col.name} is longer than {col.max_length} characters"
            )
            missing = missing | long
        self.values[col.name] = np.where(missing, None, v.to_numpy(dtype=object))

    def _vocab(self, col: Column, v: pd.Series, missing: np.ndarray, known: set[Any]) -> None:
        if col.kind == "enum":
            canon = {c: c for c in known}
            normalise: Callable[[pd.Series], pd.Series] = _normalise_token
        else:
            canon = {str(c).lower(): c for c in known}
            normalise = lambda u: u.str.lower()  # noqa: E731
        mapped = _by_unique(v, lambda u: normalise(u).map(canon))
        unknown = (mapped.isna().to_numpy()) & ~missing
        choices = sorted(str(c) for c in known)
        shown = v.to_numpy(dtype=object)
        what = "BCP code" if col.name == "bcp_code" else col.name

        def message(i: int) -> str:
            val = str(shown[i])
            hint = _suggest(val.lower() if col.kind == "enum" else val, choices)
            if not hint and len(choices) <= 12:
                hint = f" (valid: {', '.join(choices)})"
            return f"unknown {what} {_show(val)}{hint}"

        self.problems.add(unknown, f"unknown_{col.name}", col.name, message)
        self.values[col.name] = np.where(missing | unknown, None, mapped.to_numpy(dtype=object))

    def _enum(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        self._vocab(col, v, missing, set(col.choices))

    def _ref(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        known = self.refs.codes.get(col.ref or col.name, set())
        self._vocab(col, v, missing, {str(k) for k in known})

    def _number(self, col: Column, v: pd.Series, missing: np.ndarray, integer: bool) -> np.ndarray:
        if col.kind in DENSE_KINDS:
            nums = _parse_numbers(v, missing)
        else:
            nums = _by_unique(v, lambda u: pd.to_numeric(u, errors="coerce")).to_numpy(float)
            nums[missing] = np.nan
        finite = np.isfinite(nums)
        bad = ~missing & ~finite
        shown = v.to_numpy(dtype=object)
        kind = "a whole number" if integer else "a number"
        self.problems.add(
            bad, "bad_number", col.name, lambda i: f"{col.name} {_show(shown[i])} is not {kind}"
        )
        if integer:
            frac = finite & (np.floor(np.where(finite, nums, 0)) != np.where(finite, nums, 0))
            self.problems.add(
                frac, "bad_number", col.name,
                lambda i: f"{col.name} {_show(shown[i])} is not a whole number",
            )
            bad |= frac
        ok = finite & ~bad
        if col.min_value is not None:
            low = ok & (nums < col.min_value)
            code = "negative_count" if integer else "negative_value"
            self.problems.add(
                low, code, col.name, lambda i: f"{col.name} {_show(shown[i])} is negative"
            )
            bad |= low
        upper = col.max_value if col.max_value is not None else (INT32_MAX if integer else None)
        if upper is not None:
            high = ok & (nums > upper)
            self.problems.add(
                high, "number_out_of_range", col.name,
                lambda i: f"{col.name} {_show(shown[i])} is larger than {upper:g}",
            )
            bad |= high
        out = np.where(bad | missing, np.nan, nums)
        self.values[col.name] = out
        return out

    def _int(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        nums = self._number(col, v, missing, integer=True)
        if col.ref:
            known = self.refs.codes.get(col.ref, set())
            present = np.isfinite(nums)
            unknown = present & ~np.isin(np.where(present, nums, -1), [float(k) for k in known])
            valid = ", ".join(str(k) for k in sorted(known))
            self.problems.add(
                unknown, f"unknown_{col.name}", col.name,
                lambda i: f"unknown {col.name} {nums[i]:g} (valid: {valid})",
            )
            self.values[col.name] = np.where(unknown, np.nan, nums)

    def _float(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        self._number(col, v, missing, integer=False)

    def _temporal(
        self, col: Column, v: pd.Series, missing: np.ndarray, values: np.ndarray, unit_per_day: float,
        what: str,
    ) -> None:
        shown = v.to_numpy(dtype=object)
        bad = ~missing & np.isnan(values)
        self.problems.add(
            bad, "bad_date", col.name, lambda i: f"{col.name} {_show(shown[i])} is not {what}"
        )
        ok = ~np.isnan(values)
        early = ok & (values < _days(EARLIEST) * unit_per_day)
        self.problems.add(
            early, "date_out_of_range", col.name,
            lambda i: f"{col.name} {_show(shown[i])} is before {EARLIEST.isoformat()}",
        )
        values = np.where(early, np.nan, values)
        if col.not_future:
            limit = (self.ctx.now + FUTURE_TOLERANCE - datetime(1970, 1, 1, tzinfo=UTC))
            if unit_per_day == 1.0:
                lim = float(limit.days)
            else:
                lim = limit.total_seconds() * 1e6
            future = ~np.isnan(values) & (values > lim)
            self.problems.add(
                future, "future_date", col.name,
                lambda i: f"{col.name} {_show(shown[i])} is in the future",
            )
            values = np.where(future, np.nan, values)
        self.values[col.name] = values

    def _timestamp(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        values = _parse_timestamps(v, missing)
        self._temporal(col, v, missing, values, 86400e6, "an ISO 8601 date or date-time")

    def _date(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        values = _parse_dates(v, missing)
        self._temporal(col, v, missing, values, 1.0, "a date (YYYY-MM-DD)")

    def _codes(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        def conv(u: pd.Series) -> pd.Series:
            return u.str.upper().str.replace(r"\s+", "", regex=True).str.strip(";")

        norm = _by_unique(v, conv)
        ok = norm.str.fullmatch(_CODES, na=False).to_numpy()
        bad = ~missing & ~ok
        shown = v.to_numpy(dtype=object)
        self.problems.add(
            bad, f"bad_{col.name}", col.name,
            lambda i: f"{col.name} {_show(shown[i])} is not a ';'-separated list of ISO alpha-3 codes",
        )
        self.values[col.name] = np.where(missing | bad, None, norm.to_numpy(dtype=object))

    def _round(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        norm = _by_unique(v, lambda u: u.str.upper())
        days = _by_unique(norm, lambda u: u.map(_round_date)).to_numpy(dtype=float)
        days = np.where(missing, np.nan, days)
        shown = v.to_numpy(dtype=object)
        bad = ~missing & np.isnan(days)
        self.problems.add(
            bad, "bad_round", col.name,
            lambda i: f"round {_show(shown[i])} is not a year (2010), half (2024-H1), quarter "
            "(2024-Q3), month (2024-05) or date (2024-05-31)",
        )
        limit = _days(self.ctx.now.date())
        future = ~np.isnan(days) & (days > limit)
        self.problems.add(
            future, "future_date", col.name, lambda i: f"round {_show(shown[i])} is in the future"
        )
        bad |= future
        self.values[col.name] = np.where(missing | bad, None, norm.to_numpy(dtype=object))
        self.values[f"{col.name}_date"] = np.where(missing | bad, np.nan, days)


# --------------------------------------------------------------------------------------------
# location


def _check_location(chk: _ColumnChecker) -> tuple[np.ndarray, np.ndarray]:
    """Point of every row: lat/lon, else the GeoJSON point, else its BCP. Records problems."""
    p, n, frame = chk.problems, chk.n, chk.frame
    lat_s, lon_s = _strings(chk.raw("lat"), few=False), _strings(chk.raw("lon"), few=False)
    lat_missing, lon_missing = _empty(lat_s), _empty(lon_s)
    lat = _parse_numbers(lat_s, lat_missing)
    lon = _parse_numbers(lon_s, lon_missing)
    notpoint = np.zeros(n, dtype=bool)
    if GEOM_LON in frame.columns:
        glon = pd.to_numeric(frame[GEOM_LON], errors="coerce").to_numpy(dtype=float)
        glat = pd.to_numeric(frame[GEOM_LAT], errors="coerce").to_numpy(dtype=float)
        use = lat_missing & lon_missing & np.isfinite(glon) & np.isfinite(glat)
        lat, lon = np.where(use, glat, lat), np.where(use, glon, lon)
        lat_missing, lon_missing = lat_missing & ~use, lon_missing & ~use
        gtype = frame[GEOM_TYPE].astype(object).fillna("").to_numpy(dtype=object)
        notpoint = (gtype != "") & (gtype != "Point")
        p.add(notpoint, "bad_geometry", "geometry",
              lambda i: f"geometry is a {gtype[i]}, not a Point")
    lat_s_arr, lon_s_arr = lat_s.to_numpy(dtype=object), lon_s.to_numpy(dtype=object)
    bcp_given = ~chk.missing.get("bcp_code", np.ones(n, dtype=bool))
    none = lat_missing & lon_missing
    p.add(none & ~bcp_given & ~notpoint, "missing_location", None,
          "no location: give lat and lon, a point geometry, or a bcp_code")
    p.add(lat_missing & ~lon_missing, "missing_coordinate", "lat", "lon given without lat")
    p.add(lon_missing & ~lat_missing, "missing_coordinate", "lon", "lat given without lon")
    bad_lat = ~lat_missing & ~np.isfinite(lat)
    bad_lon = ~lon_missing & ~np.isfinite(lon)
    p.add(bad_lat, "bad_coordinate", "lat", lambda i: f"lat {_show(lat_s_arr[i])} is not a number")
    p.add(bad_lon, "bad_coordinate", "lon", lambda i: f"lon {_show(lon_s_arr[i])} is not a number")
    both = np.isfinite(lat) & np.isfinite(lon)
    la, lo = np.where(both, lat, 0.0), np.where(both, lon, 0.0)
    lat, lon = lat.copy(), lon.copy()
    out_lat = both & (np.abs(la) > 90)
    out_lon = both & (np.abs(lo) > 180)
    p.add(out_lat, "bad_coordinate", "lat", lambda i: f"lat {la[i]:g} is not between -90 and 90")
    p.add(out_lon, "bad_coordinate", "lon", lambda i: f"lon {lo[i]:g} is not between -180 and 180")
    x0, y0, x1, y1 = chk.ctx.region_bbox
    inside = (lo >= x0) & (lo <= x1) & (la >= y0) & (la <= y1)
    swapped_inside = (la >= x0) & (la <= x1) & (lo >= y0) & (lo <= y1)
    ranged = both & ~out_lat & ~out_lon
    swapped = ranged & ~inside & swapped_inside
    outside = ranged & ~inside & ~swapped_inside
    p.add(swapped, "latlon_swapped", "lat",
          lambda i: f"lat {la[i]:g} / lon {lo[i]:g} lies outside the region; swapped "
          f"(lat {lo[i]:g}, lon {la[i]:g}) it would be inside: lat and lon look swapped")
    p.add(outside, "outside_region", "lat",
          lambda i: f"point (lat {la[i]:g}, lon {lo[i]:g}) lies outside the region "
          f"(lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g})")
    good = both & inside
    lat = np.where(good, la, np.nan)
    lon = np.where(good, lo, np.nan)
    # rows with only a (known) BCP are placed at the BCP
    codes = chk.values.get("bcp_code")
    if codes is not None and chk.refs.bcp_lonlat:
        at_bcp = none & bcp_given & pd.notna(pd.Series(codes)).to_numpy()
        if at_bcp.any():
            pos = pd.Series(codes[at_bcp]).map(chk.refs.bcp_lonlat)
            lon[at_bcp] = [xy[0] if isinstance(xy, tuple) else np.nan for xy in pos]
            lat[at_bcp] = [xy[1] if isinstance(xy, tuple) else np.nan for xy in pos]
    return lon, lat


# --------------------------------------------------------------------------------------------
# duplicates


class SeenKeys:
    """Natural keys already accepted in this file, as 2 x 64-bit hashes (32 bytes a row).

    Kept in sorted runs: new keys form a run, runs of similar size are merged up to
    ``BLOCK`` keys and then left alone, so adding a chunk never copies the whole set (memory
    stays at the set's own size) and a lookup searches a few runs.
    """

    BLOCK = 1 << 18

    def __init__(self) -> None:
        #: runs of (k1, k2, c1, rows), each sorted by k1
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(found mask, row number, content hash of the earlier row) for each key."""
        found = np.zeros(len(k1), dtype=bool)
        rows = np.zeros(len(k1), dtype=np.int64)
        content = np.zeros(len(k1), dtype=np.uint64)
        for rk1, rk2, rc1, rrows in self.runs:
            pos = np.minimum(np.searchsorted(rk1, k1), len(rk1) - 1)
            hit = ~found & (rk1[pos] == k1) & (rk2[pos] == k2)
            found |= hit
            rows[hit] = rrows[pos[hit]]
            content[hit] = rc1[pos[hit]]
        return found, rows, content

    def add(self, k1: np.ndarray, k2: np.ndarray, c1: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(k1, kind="stable")
        run = (k1[order], k2[order], c1[order], rows[order])
        while self.runs and len(self.runs[-1][0]) <= len(run[0]) < self.BLOCK:
            last = self.runs.pop()
            keys = np.concatenate([last[0], run[0]])
            order = np.argsort(keys, kind="stable")
            run = tuple(np.concatenate([a, b])[order]  # type: ignore[assignment]
                        for a, b in zip(last, run, strict=True))
        self.runs.append(run)


def _hash_frame(columns: Mapping[str, np.ndarray], key: str,
                dense: frozenset[str] = frozenset()) -> np.ndarray:
    """64-bit hash of each row of the columns (``pd.util.hash_pandas_object`` of their frame,
    ``index=False``); text columns in ``dense`` (mostly distinct values) are hashed directly
    rather than through their distinct values (same result, faster for them)."""
    if not columns:
        return np.zeros(0, dtype=np.uint64)
    n = len(next(iter(columns.values())))
    hashes = (pd.util.hash_array(np.asarray(v), hash_key=key, categorize=k not in dense)
              for k, v in columns.items())
    return combine_hash_arrays(hashes, len(columns)) if n else np.zeros(0, dtype=np.uint64)


# --------------------------------------------------------------------------------------------
# the validator


class Validator:
    """Validates the chunks of one file in order (it remembers the keys seen so far)."""

    def __init__(
        self, spec: SourceSpec, refs: References, ctx: Context, *, extras: tuple[str, ...] = ()
    ) -> None:
        self.spec, self.refs, self.ctx = spec, refs, ctx
        self.extras = extras
        self.seen = SeenKeys()
        self.dense = frozenset([c.name for c in spec.columns if c.kind in DENSE_KINDS]
                               + [f"attr:{k}" for k in extras])

    def validate(self, frame: pd.DataFrame, raw_names: Mapping[str, str]) -> ChunkResult:
        """Check one chunk.

        Parameters
        ----------
        frame
            Strings as read: declared columns under their normalised names, extra columns
            under their original header, and the reader's reserved columns (``__row``...).
        raw_names
            Column in ``frame`` -> header as written in the file (for the reject's raw text).
        """
        n = len(frame)
        chk = _ColumnChecker(self.spec, frame, self.refs, self.ctx)
        chk.run()
        p = chk.problems
        if OVERFLOW in frame.columns:
            over = frame[OVERFLOW].astype(object).fillna("").to_numpy(dtype=object)
            p.add(over != "", "malformed_row", None,
                  "row has more fields than the header (extra values kept as __overflow)")
        extras: dict[str, Any] = {}
        for name in self.extras:
            v = _strings(chk.raw(name), few=False)
            nul = _has_nul(v, self.ctx.check_nul)
            p.add(nul, "bad_text", name, f"{name} contains a NUL character")
            extras[name] = np.where(_empty(v) | nul, None, v.to_numpy(dtype=object))
        values: dict[str, Any] = dict(chk.values)
        if self.spec.located:
            lon, lat = _check_location(chk)
            values["lon"], values["lat"] = lon, lat
        parsed = Parsed(values, values.get("lon"), values.get("lat"))
        for check in self.spec.checks:
            check(parsed, p)
        row_numbers = frame[ROW].to_numpy(dtype=np.int64)
        content = _hash_frame(self._content(values, extras), _HASH_KEYS[0], self.dense)
        duplicates = self._duplicates(values, content, p.bad(), row_numbers, p)
        bad = p.bad()
        keep = ~bad & ~duplicates
        accepted = {k: v[keep] for k, v in values.items()}
        accepted.update({f"attr:{k}": v[keep] for k, v in extras.items()})
        accepted["__h1"] = content[keep]
        rejects = self._rejects(frame, raw_names, p, np.flatnonzero(bad), row_numbers)
        return ChunkResult(accepted, row_numbers[keep], rejects, int(duplicates.sum()), n)

    # -- internals ------------------------------------------------------------------------

    def _content(self, values: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
        content = {k: values[k] for k in sorted(values)}
        content.update({f"attr:{k}": v for k, v in sorted(extras.items())})
        return content

    def _duplicates(
        self, values: dict[str, np.ndarray], c1: np.ndarray, bad: np.ndarray,
        rows: np.ndarray, p: Problems,
    ) -> np.ndarray:
        """Exact in-file duplicates (mask); conflicting ones are added to ``p``."""
        n = len(rows)
        key_cols = {k: values[k] for k in self.spec.natural_key}
        keyed = np.ones(n, dtype=bool)
        for k in self.spec.natural_key:
            v = values[k]
            keyed &= ~pd.isna(pd.Series(v)).to_numpy()
        k1 = _hash_frame(key_cols, _HASH_KEYS[0], self.dense)
        k2 = _hash_frame(key_cols, _HASH_KEYS[1], self.dense)
        found, seen_row, seen_c = self.seen.lookup(k1, k2)
        found &= keyed
        prior_row = np.where(found, seen_row, 0)
        prior_c = np.where(found, seen_c, np.uint64(0))
        # first occurrence inside this chunk among valid, not-yet-seen keyed rows
        cand = keyed & ~found & ~bad
        frame = pd.DataFrame({"k1": k1, "k2": k2, "c": c1, "row": rows})
        sub = frame[cand]
        first = sub.groupby(["k1", "k2"], sort=False).transform("first")
        within = np.zeros(n, dtype=bool)
        first_row = np.zeros(n, dtype=np.int64)
        first_c = np.zeros(n, dtype=np.uint64)
        idx = np.flatnonzero(cand)
        is_dup = sub.duplicated(["k1", "k2"], keep="first").to_numpy()
        within[idx[is_dup]] = True
        first_row[idx] = first["row"].to_numpy()
        first_c[idx] = first["c"].to_numpy(dtype=np.uint64)
        valid = ~bad
        exact = (valid & found & (c1 == prior_c)) | (within & (c1 == first_c))
        conflict_prior = valid & found & (c1 != prior_c)
        conflict_within = within & (c1 != first_c)
        # a rejected row repeating an accepted key also gets the duplicate reason
        new = cand & ~within
        new_keys = frame[new].drop_duplicates(["k1", "k2"])
        invalid_keyed = keyed & bad
        if invalid_keyed.any() and len(new_keys):
            merged = frame[invalid_keyed].merge(new_keys, on=["k1", "k2"], how="left",
                                                suffixes=("", "_first"))
            hit = (merged["row_first"].notna() & (merged["row_first"] < merged["row"])).to_numpy()
            sel = np.flatnonzero(invalid_keyed)[hit]
            within_bad = np.zeros(n, dtype=bool)
            within_bad[sel] = True
            first_row[sel] = merged["row_first"].to_numpy()[hit].astype(np.int64)
            conflict_within |= within_bad
        conflict_prior |= invalid_keyed & found
        key_text = ", ".join(self.spec.natural_key)

        def msg(ref: np.ndarray) -> Callable[[int], str]:
            return lambda i: (
                f"same {key_text} as row {int(ref[i])} of this file, with different content"
            )

        p.add(conflict_prior, "duplicate_conflict", self.spec.natural_key[-1], msg(prior_row))
        p.add(conflict_within, "duplicate_conflict", self.spec.natural_key[-1], msg(first_row))
        if new.any():
            self.seen.add(k1[new], k2[new], c1[new], rows[new])
        return exact

    def _rejects(
        self, frame: pd.DataFrame, raw_names: Mapping[str, str], p: Problems,
        bad_idx: np.ndarray, rows: np.ndarray,
    ) -> list[Reject]:
        if not len(bad_idx):
            return []
        reasons = p.reasons(bad_idx)
        cols = [c for c in frame.columns if c in raw_names or c in (OVERFLOW, GEOM_WKT)]
        sub = frame.iloc[bad_idx][cols].astype(object)
        out = []
        for pos, rec in zip(bad_idx, sub.to_dict("records"), strict=True):
            raw: dict[str, Any] = {}
            for c, val in rec.items():
                text = "" if val is None or (isinstance(val, float) and np.isnan(val)) else str(val)
                text = text.replace("\x00", "\ufffd")  # jsonb cannot hold NUL
                if c in (OVERFLOW, GEOM_WKT):
                    if text:
                        raw["__overflow" if c == OVERFLOW else "geometry"] = text
                    continue
                raw[raw_names[c]] = text
            out.append(Reject(int(rows[pos]), raw, reasons[int(pos)]))
        return out


def default_context(
    region_bbox: tuple[float, float, float, float] = REGION_BBOX, *, check_nul: bool = True
) -> Context:
    """Validation context at the current time."""
    return Context(now=datetime.now(UTC), region_bbox=region_bbox, check_nul=check_nul)
