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

from etl.runs import Reason

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


