"""What an input kind looks like: its columns, the reference codes and context they are checked
against, and the problems a check records.

``SourceSpec`` is the declaration each module of ``etl.sources`` makes (the 'tap'); the
validator and the load runner do the rest. ``Problems`` collects the problems of one chunk
(row masks with a reason code) and is what a spec's extra cross-column ``checks`` write to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from etl.report import Reason
from etl.settings import Settings

ColumnKind = Literal["text", "enum", "ref", "int", "float", "timestamp", "date", "codes", "round",
                     "bool"]

#: Reserved reader columns (never user data).
ROW = "__row"
OVERFLOW = "__overflow"
GEOM_LON = "__geom_lon"
GEOM_LAT = "__geom_lat"
GEOM_TYPE = "__geom_type"
GEOM_WKT = "__geom_wkt"
UNREADABLE = "__unreadable"  # why the reader could not read a feature (GDAL's words)
RESERVED = (ROW, OVERFLOW, GEOM_LON, GEOM_LAT, GEOM_TYPE, GEOM_WKT, UNREADABLE)

#: The region: lon_min, lat_min, lon_max, lat_max (Slovenia to eastern Türkiye, Crete to Hungary).
REGION_BBOX = (12.0, 35.0, 46.0, 48.0)
EARLIEST = date(1990, 1, 1)
FUTURE_TOLERANCE = timedelta(minutes=10)
INT32_MAX = 2**31 - 1
#: Characters a text value may hold unless its column says otherwise (``max_length``); also
#: the limit of each value of an extra column (kept in ``attrs``).
TEXT_LIMIT = 1_000
#: Text read as true / false by ``bool`` columns (lower case; empty is false).
TRUE = ("true", "t", "yes", "y", "1")
FALSE = ("false", "f", "no", "n", "0", "")
#: Column kinds whose values are mostly distinct (parsed value by value, not per distinct value).
DENSE_KINDS = ("text", "float", "timestamp")


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
        (YYYY-MM-DD), ``codes`` (``;``-separated ISO alpha-3), ``round`` (assessment round)
        or ``bool`` (true/false, yes/no, t/f, y/n, 1/0; empty is false).
    required
        An empty value is a ``missing_value`` reject.
    choices, ref, min_value, max_value, not_future, max_length, pattern
        What a value may be: a vocabulary, a code of a reference set (see
        ``etl.warehouse.references``), a range, not after the load, at most so many
        characters (text and codes; default ``TEXT_LIMIT``), a regular expression the whole
        (text) value must match.
    code, message
        Reject code (and message, ``{value}`` is the value as written) of a value that the
        rules above refuse; default ``unknown_<name>`` for vocabularies and references,
        ``bad_<name>`` for a pattern, ``negative_count``/``negative_value``/
        ``number_out_of_range`` for a range.
    case
        ``upper``/``lower``: text stored in that case.
    default
        Used for an empty value.
    target
        Column of the warehouse table; ``None`` for input-only columns (lat, lon), ``"attrs"``
        to keep the value in the row's ``attrs`` object under its name.
    aliases
        Other header names accepted for the column.
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
    pattern: str | None = None
    code: str | None = None
    message: str | None = None
    case: Literal["lower", "upper", "keep"] = "keep"
    default: str | None = None
    target: str | None = ""
    aliases: tuple[str, ...] = ()

    @property
    def target_name(self) -> str | None:
        return self.name if self.target == "" else self.target


@dataclass
class References:
    """What rows are checked against, read from the warehouse once per load: known codes of
    reference sets, BCP positions, and other tables a spec asks for (``SourceSpec.references``)."""

    codes: dict[str, set[Any]] = field(default_factory=dict)
    bcp_lonlat: dict[str, tuple[float, float]] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What validation compares against: the clock, the region's bounding box, the settings
    (for limits such as ``bcp_max_border_km``; None: their defaults)."""

    now: datetime
    region_bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max
    check_nul: bool = True  # False when the file is known to hold no NUL byte
    settings: Settings | None = None


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

    def lifted(self, positions: np.ndarray, n: int) -> Problems:
        """These problems of a part of a chunk, as problems of the whole chunk of ``n`` rows
        (``positions``: where the part's rows are in it)."""
        out = Problems(n)
        inverse = np.full(n, -1, dtype=np.intp)
        inverse[positions] = np.arange(len(positions))
        for mask, code, fname, message in self._items:
            full = np.zeros(n, dtype=bool)
            full[positions] = mask
            out._items.append((full, code, fname, message if isinstance(message, str)
                               else _shifted(message, inverse)))
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


def _shifted(message: Callable[[int], str], inverse: np.ndarray) -> Callable[[int], str]:
    return lambda i: message(int(inverse[i]))


@dataclass
class Parsed:
    """Typed values of one chunk: strings as objects (None when empty), numbers as float64 (NaN),
    with the references and context they were checked against (for a spec's ``checks``).

    A check may replace a column's array in ``values`` (a default that depends on another
    column, such as a flow's reporting country): the key, the content hash and the accepted
    rows are taken after the checks."""

    values: dict[str, Any]
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    refs: References = field(default_factory=References)
    ctx: Context | None = None
    rows: np.ndarray | None = None  # row numbers in the file


#: A check of a chunk: ``f(parsed, problems)`` records problems (pure, no database).
Check = Callable[[Parsed, Problems], None]
#: A lookup: ``f(db, parsed)`` -> more value arrays for the checks (runs on the database).
Lookup = Callable[[Any, Parsed], dict[str, np.ndarray]]
#: A reference read: ``(name, f(db))``, the result kept in ``References.tables[name]``; or the
#: name of a code set (``etl.warehouse.references.CODE_SETS``) for ``References.codes``.
Reference = str | tuple[str, Callable[[Any], Any]]


@dataclass
class SourceSpec:
    """What one input kind looks like (the 'tap'): the runner in ``etl.load`` does the rest.

    Adding a kind is one module in ``etl/sources`` declaring its ``SPEC`` and one line in
    ``etl/sources/__init__.py`` registering it; the command ``borderwatch load <kind>`` follows.

    Parameters
    ----------
    kind
        Name used on the command line (``incidents``; ``_`` becomes ``-`` there) and in
        ``load_run``.
    table
        Name of the warehouse table written.
    natural_key
        Input column names forming the key inside one file (``source`` is added for incidents).
    columns
        The declared columns in the interchange format.
    title
        What the rows are, for help texts and messages ("incident reports").
    located
        Rows carry a point (lat/lon, GeoJSON point, or a ``bcp_code``) and are enriched.
    checks
        Extra cross-column rules ``f(parsed, problems)``, pure.
    source_in_key
        ``source`` is part of the warehouse natural key.
    references
        Reference data beyond the columns' ``ref`` sets that the checks or the store need.
    requires
        The reference code set that must not be empty (else the load fails: "load the
        geodata first").
    lookups
        Functions ``f(db, parsed)`` giving more values per row from the warehouse (run before
        the checks, on the load's connection).
    duplicates
        ``first_wins``: a later row of the file with the key of an earlier one and other
        content is rejected (``duplicate_code``). ``reject_all``: every row of such a key is
        rejected (the file does not say which is right); the file is then validated as a
        whole, at most ``max_rows`` rows.
    store
        Where accepted rows go: ``None`` for a fact table (``etl.stores.FactStore``), or a
        store class (``etl.stores``).
    after_load
        ``f(run)`` called after the rows are written (not in a dry run), in the transaction.
    skip_known
        A reload does not validate again the rows the table holds exactly as they are read
        (by their raw digests, ``etl.validate.fingerprint``; the table needs a ``raw_digest``
        column). Only for kinds whose natural key no check replaces and that need no
        ``lookups``: the key of such a row is parsed alone, for the in-file duplicates.
    """

    kind: str
    table: str
    natural_key: tuple[str, ...]
    columns: tuple[Column, ...]
    title: str = ""
    located: bool = False
    checks: tuple[Check, ...] = ()
    source_in_key: bool = False
    references: tuple[Reference, ...] = ()
    requires: str = "country"
    lookups: tuple[Lookup, ...] = ()
    duplicates: Literal["first_wins", "reject_all"] = "first_wins"
    duplicate_code: str = "duplicate_conflict"
    max_rows: int = 200_000
    store: Any = None
    after_load: Callable[[Any], None] | None = None
    skip_known: bool = False

    @property
    def whole_file(self) -> bool:
        """The file is validated in one piece (``duplicates='reject_all'``)."""
        return self.duplicates == "reject_all"

    @property
    def label(self) -> str:
        return self.title or self.kind.replace("_", " ")

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
