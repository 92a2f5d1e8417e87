"""The BCP registry: its declared schema, its validation, and ``borderwatch load bcps FILE``.

A registry is a CSV file, one border crossing point per row (the shipped one is
``geodata/bcps.csv``; a service may load its own in the same format). Natural key ``code``;
geometry a Point in EPSG:4326 built from ``lat``/``lon``. Columns not declared here are kept
in ``bcp.attrs``.

Validation is a pure function (``validate``) that collects every problem of every row; the one
check that needs the warehouse, the distance from the crossing to its pair's border line, is
measured beforehand in PostGIS on the ellipsoid (``geography``) by ``border_distances_m``.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoalchemy2 import Geography
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    cast,
    func,
    select,
    values,
)
from sqlalchemy.exc import SQLAlchemyError

from etl.errors import BorderwatchError, InputFileError, LoadError
from etl.load import lock_loads, upsert_rows
from etl.runs import (
    LoadReport,
    Reason,
    Reject,
    count_reasons,
    fail_run,
    file_checksum,
    finish_run,
    record_rejects,
    start_run,
)
from etl.settings import Settings
from etl.warehouse.schema import SRID, bcp, border_line, country

# --------------------------------------------------------------------------- declared schema

NAME = "bcps"
NATURAL_KEY = ("code",)
GEOMETRY_TYPE = "POINT"
CRS = f"EPSG:{SRID}"
#: column -> (type, required)
COLUMNS: dict[str, tuple[str, bool]] = {
    "code": ("str", True),
    "name_a": ("str", True),
    "name_b": ("str", True),
    "country_a": ("iso2", True),
    "country_b": ("iso2", True),
    "mode": ("mode", True),
    "e_road": ("str", False),
    "joint_control": ("bool", False),
    "one_stop": ("bool", False),
    "lat": ("float", True),
    "lon": ("float", True),
    "coord_confidence": ("str", False),
    "notes": ("str", False),
}
REQUIRED = tuple(c for c, (_, required) in COLUMNS.items() if required)
MODES = ("road", "rail", "road_rail", "pedestrian", "river")
CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")
E_ROAD_RE = re.compile(r"E\d{1,3}(\s*[,/]\s*E\d{1,3})*")
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0", ""}


@dataclass(frozen=True)
class RegistryContext:
    """What validation needs to know about the warehouse.

    Parameters
    ----------
    countries
        ISO alpha-2 codes present in ``country``.
    pairs
        ``pair_id`` of every border line (alphabetical, e.g. ``HU-RS``).
    border_m
        Distance in metres from each row (by row number) to its pair's border line.
    max_border_km
        ``Settings.bcp_max_border_km``.
    """

    countries: frozenset[str]
    pairs: frozenset[str]
    border_m: Mapping[int, float]
    max_border_km: float


@dataclass
class Validated:
    """Result of ``validate``: rows to load, rows rejected, identical repeats (row numbers)."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- validation


def pair_id(a: str, b: str) -> str:
    """Alphabetical pair id of two country codes, e.g. ``('RS', 'HU') -> 'HU-RS'``."""
    return "-".join(sorted((a, b)))


def parse_coords(raw: Mapping[str, str | None]) -> tuple[float, float] | None:
    """``(lon, lat)`` when both parse and are in range, else None."""
    try:
        lat, lon = float(_text(raw, "lat")), float(_text(raw, "lon"))
    except ValueError:
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lon, lat
    return None


def _text(raw: Mapping[str, str | None], column: str) -> str:
    value = raw.get(column)
    return "" if value is None else value.strip()


def _bool(raw: Mapping[str, str | None], column: str, reasons: list[Reason]) -> bool:
    value = _text(raw, column).lower()
    if value in TRUE:
        return True
    if value not in FALSE:
        reasons.append(Reason("bad_boolean", column, f"{value!r} is not true/false"))
    return False


def _check_row(raw: Mapping[str, str | None], ctx: RegistryContext, row_number: int
               ) -> tuple[dict[str, Any] | None, list[Reason]]:
    reasons: list[Reason] = []
    for column in REQUIRED:
        if not _text(raw, column):
            reasons.append(Reason("missing_value", column, f"{column} is empty"))
    code = _text(raw, "code")
    if code and not CODE_RE.fullmatch(code):
        reasons.append(Reason("bad_code", "code", "code must be 2-32 of A-Z, 0-9 and '-'"))
    a, b = _text(raw, "country_a").upper(), _text(raw, "country_b").upper()
    for column, value in (("country_a", a), ("country_b", b)):
        if value and value not in ctx.countries:
            reasons.append(Reason("unknown_country", column, f"{value!r} is not a known country"))
    known = a in ctx.countries and b in ctx.countries
    if known and a == b:
        reasons.append(Reason("same_country", "country_b", "country_a and country_b are equal"))
    elif known and pair_id(a, b) not in ctx.pairs:
        reasons.append(
            Reason("no_border_line", "country_b", f"no border line for pair {pair_id(a, b)}")
        )
    mode = _text(raw, "mode").lower()
    if mode and mode not in MODES:
        reasons.append(Reason("bad_mode", "mode", f"{mode!r} is not one of {', '.join(MODES)}"))
    e_road = _text(raw, "e_road").upper()
    if e_road and not E_ROAD_RE.fullmatch(e_road):
        reasons.append(Reason("bad_e_road", "e_road", f"{e_road!r} is not an E-road number"))
    joint, one_stop = _bool(raw, "joint_control", reasons), _bool(raw, "one_stop", reasons)
    reasons += _coordinate_reasons(raw)
    distance = ctx.border_m.get(row_number)
    if distance is not None and distance > ctx.max_border_km * 1000:
        reasons.append(
            Reason(
                "too_far_from_border", "lat",
                f"{distance / 1000:.1f} km from the {pair_id(a, b)} border line "
                f"(at most {ctx.max_border_km:g} km)",
            )
        )
    if reasons:
        return None, reasons
    coords = parse_coords(raw)
    assert coords is not None
    extra = {k: v for k, v in raw.items() if k not in COLUMNS and k is not None and v}
    notes = _text(raw, "notes")
    row = {
        "code": code,
        "name_a": _text(raw, "name_a"),
        "name_b": _text(raw, "name_b"),
        "country_a": a,
        "country_b": b,
        "mode": mode,
        "e_road": e_road or None,
        "joint_control": joint,
        "one_stop": one_stop,
        "coord_confidence": _text(raw, "coord_confidence") or None,
        "border_distance_m": None if distance is None else round(distance, 1),
        "attrs": {**extra, **({"notes": notes} if notes else {})},
        "lon": coords[0],
        "lat": coords[1],
    }
    return row, []


def _coordinate_reasons(raw: Mapping[str, str | None]) -> list[Reason]:
    reasons = []
    for column, limit in (("lat", 90.0), ("lon", 180.0)):
        text = _text(raw, column)
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            reasons.append(Reason("bad_number", column, f"{text!r} is not a number"))
            continue
        if not -limit <= value <= limit:
            reasons.append(Reason("out_of_range", column, f"{value} is outside ±{limit:g}"))
    return reasons


def validate(rows: Sequence[tuple[int, Mapping[str, str | None]]], ctx: RegistryContext
             ) -> Validated:
    """Check every row; collect every problem of each; reject conflicting duplicate codes.

    Parameters
    ----------
    rows
        ``(row_number, raw)`` pairs: 1-based data row number and the row as read (text).
    ctx
        What is known of the warehouse (countries, border lines, measured distances).

    Returns
    -------
    Validated
        Accepted rows (one per code), rejects with every reason, and row numbers of
        identical repeats of an accepted row (loaded once, counted as unchanged).
    """
    out = Validated()
    checked = [(n, raw, *_check_row(raw, ctx, n)) for n, raw in rows]
    by_code: dict[str, list[int]] = {}
    for i, (_, raw, _, _) in enumerate(checked):
        by_code.setdefault(_text(raw, "code"), []).append(i)
    for i, (n, raw, row, reasons) in enumerate(checked):
        same = by_code.get(_text(raw, "code"), [i]) if _text(raw, "code") else [i]
        contents = {_content(checked[j][1]) for j in same}
        if len(contents) > 1:
            others = ", ".join(str(checked[j][0]) for j in same if j != i)
            reasons = [*reasons, Reason("duplicate_code", "code",
                                        f"code also in row(s) {others} with different content")]
            row = None
        if row is None:
            out.rejects.append(Reject(row_number=n, raw=dict(raw), reasons=reasons))
        elif same[0] != i:
            out.repeats.append(n)
        else:
            out.accepted.append(row)
    return out


def _content(raw: Mapping[str, str | None]) -> str:
    return json.dumps({k: (v or "").strip() for k, v in raw.items() if k}, sort_keys=True)


# --------------------------------------------------------------------------- warehouse


def context(conn: Connection, rows: Sequence[tuple[int, Mapping[str, str | None]]],
            max_border_km: float) -> RegistryContext:
    """Countries and border lines of the warehouse, and each row's border distance."""
    countries = frozenset(conn.execute(select(country.c.iso2)).scalars())
    pairs = frozenset(conn.execute(select(border_line.c.pair_id)).scalars())
    probes = []
    for n, raw in rows:
        coords = parse_coords(raw)
        a, b = _text(raw, "country_a").upper(), _text(raw, "country_b").upper()
        if coords and a and b and pair_id(a, b) in pairs:
            probes.append((n, pair_id(a, b), coords[0], coords[1]))
    return RegistryContext(countries, pairs, border_distances_m(conn, probes), max_border_km)


def border_distances_m(conn: Connection, probes: Sequence[tuple[int, str, float, float]]
                       ) -> dict[int, float]:
    """Geodesic distance (m, PostGIS ``geography``) of each probe point to its pair's line.

    Parameters
    ----------
    probes
        ``(row_number, pair_id, lon, lat)``.
    """
    if not probes:
        return {}
    probe = values(
        Column("row_number", Integer), Column("pair_id", String),
        Column("lon", Float), Column("lat", Float), name="probe",
    ).data(list(probes))
    point = func.ST_SetSRID(func.ST_MakePoint(probe.c.lon, probe.c.lat), SRID)
    distance = func.ST_Distance(cast(point, Geography), cast(border_line.c.geom, Geography))
    stmt = select(probe.c.row_number, distance).join(
        border_line, border_line.c.pair_id == probe.c.pair_id
    )
    return {int(n): float(d) for n, d in conn.execute(stmt)}


def store(conn: Connection, accepted: Sequence[dict[str, Any]], source: str
          ) -> tuple[int, int, int]:
    """Upsert accepted registry rows into ``bcp`` by ``code``."""
    rows = []
    for r in accepted:
        row = {k: v for k, v in r.items() if k not in ("lon", "lat")}
        row["source"] = source
        row["geom"] = from_shape(Point(r["lon"], r["lat"]), srid=SRID)
        rows.append(row)
    return upsert_rows(conn, bcp, rows)


def read_registry(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    """Rows of a registry CSV as text, numbered from 1; the header must name the required
    columns (others are allowed and kept in ``attrs``)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise InputFileError(
                    f"{path.name}: required column(s) missing: {', '.join(missing)}"
                )
            return [(n, dict(raw)) for n, raw in enumerate(reader, start=1)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"{path.name} cannot be read as a UTF-8 CSV file", str(exc)) from exc


def load_rows(conn: Connection, rows: Sequence[tuple[int, dict[str, str | None]]],
              settings: Settings, source: str) -> tuple[Validated, tuple[int, int, int]]:
    """Validate registry rows against the warehouse and upsert the accepted ones."""
    ctx = context(conn, rows, settings.bcp_max_border_km)
    checked = validate(rows, ctx)
    return checked, store(conn, checked.accepted, source)


def load_bcp_file(engine: Engine, settings: Settings, path: Path, source: str | None = None
                  ) -> LoadReport:
    """``borderwatch load bcps FILE``: load a service's registry in one transaction.

    Every row is loaded or rejected with its reasons (kept in ``rejected_row``); the run is
    recorded in ``load_run`` (kind ``bcps``), also when it fails.
    """
    rows = read_registry(path)
    source = source or path.stem
    report = LoadReport(kind=NAME, source=source, file_name=path.name, read=len(rows))
    started = time.monotonic()
    report.run_id = start_run(engine, kind=NAME, source=source, file_name=path.name,
                              checksum=file_checksum(path))
    try:
        with engine.begin() as conn:
            lock_loads(conn, report.run_id, settings)
            checked, (ins, upd, same) = load_rows(conn, rows, settings, source)
            report.inserted, report.updated = ins, upd
            report.unchanged = same + len(checked.repeats)
            report.rejected = len(checked.rejects)
            count_reasons(report, checked.rejects)
            record_rejects(conn, report.run_id, checked.rejects)
            finish_run(conn, report, started=started)
    except Exception as exc:
        message = exc.user_message if isinstance(exc, BorderwatchError) else type(exc).__name__
        fail_run(engine, report, started=started, message=f"failed: {message}")
        if isinstance(exc, SQLAlchemyError):
            raise LoadError(
                "Loading the BCP registry failed; nothing was written.", str(exc)
            ) from exc
        raise
    return report
