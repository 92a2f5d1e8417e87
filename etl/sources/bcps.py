"""The BCP registry: one border crossing point per row (``borderwatch load bcps FILE``).

The shipped registry is ``geodata/bcps.csv`` (loaded by ``borderwatch load geodata``); a
service may load its own in the same format. Natural key ``code``; geometry a Point in
EPSG:4326 built from ``lat``/``lon``; columns not declared here, and ``notes``, are kept in
``bcp.attrs``. A crossing must lie within ``BORDERWATCH_BCP_MAX_BORDER_KM`` of its pair's
border line: the distance is measured in PostGIS on the ellipsoid (``geography``), the one
check that asks the warehouse (a ``lookup``). A code listed in several rows with different
content rejects all of them (``duplicate_code``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from etl.report import Reject
from etl.settings import Settings
from etl.upsert_store import UpsertStore
from etl.validate import ROW, Column, Parsed, Problems, References, SourceSpec, Validator
from etl.validate import default_context as _context
from etl.warehouse import references
from etl.warehouse.schema import SRID
from etl.warehouse.upserts import Geometry

NAME = "bcps"
MODES = ("road", "rail", "road_rail", "pedestrian", "river")
CODE_RE = r"[A-Z0-9][A-Z0-9-]{1,31}"
E_ROAD_RE = r"E\d{1,3}(\s*[,/]\s*E\d{1,3})*"
#: Distance assumed when no settings are given (``Settings.bcp_max_border_km``).
DEFAULT_MAX_BORDER_KM = 3.0


def pair_id(a: str, b: str) -> str:
    """Alphabetical pair id of two country codes, e.g. ``('RS', 'HU') -> 'HU-RS'``."""
    return "-".join(sorted((a, b)))


def _pairs(parsed: Parsed) -> np.ndarray:
    """The pair id of each row whose two countries are known and differ (else None)."""
    a, b = parsed.values["country_a"], parsed.values["country_b"]
    return np.array([pair_id(x, y) if x is not None and y is not None and x != y else None
                     for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=object)


def _countries_and_pair(parsed: Parsed, problems: Problems) -> None:
    """Two different countries that share a border line."""
    a, b = parsed.values["country_a"], parsed.values["country_b"]
    known = pd.notna(pd.Series(a)).to_numpy() & pd.notna(pd.Series(b)).to_numpy()
    problems.add(known & (a == b), "same_country", "country_b",
                 "country_a and country_b are equal")
    pairs = _pairs(parsed)
    lines = parsed.refs.codes.get("pair", set())
    missing = np.array([p is not None and p not in lines for p in pairs.tolist()], dtype=bool)
    problems.add(missing, "no_border_line", "country_b",
                 lambda i: f"no border line for pair {pairs[i]}")


def _near_border(parsed: Parsed, problems: Problems) -> None:
    """Within ``bcp_max_border_km`` of the pair's border line (the distance looked up)."""
    metres = parsed.values.get("border_distance_m")
    if metres is None:
        return
    settings = parsed.ctx.settings if parsed.ctx is not None else None
    max_km = settings.bcp_max_border_km if settings is not None else DEFAULT_MAX_BORDER_KM
    pairs = _pairs(parsed)
    far = np.nan_to_num(metres, nan=0.0) > max_km * 1000
    problems.add(far, "too_far_from_border", "lat",
                 lambda i: f"{metres[i] / 1000:.1f} km from the {pairs[i]} border line "
                 f"(at most {max_km:g} km)")


def _border_distance(db: Any, parsed: Parsed) -> dict[str, np.ndarray]:
    """Geodesic distance (m, rounded to 0.1) from each located row to its pair's line."""
    pairs = _pairs(parsed)
    lon, lat = parsed.values["lon"], parsed.values["lat"]
    at = np.flatnonzero((pairs != None) & np.isfinite(lon) & np.isfinite(lat))  # noqa: E711
    measured = references.border_distances_m(db, pairs[at].tolist(), lon[at].tolist(),
                                             lat[at].tolist())
    out = np.full(len(pairs), np.nan)
    for pos, metres in measured.items():
        out[at[pos]] = round(metres, 1)
    return {"border_distance_m": out}


class BcpStore(UpsertStore):
    """The ``bcp`` table: the row's columns, its source, its point, its border distance."""

    def row(self, acc: dict[str, Any], i: int) -> dict[str, Any]:
        out = super().row(acc, i)
        point = shapely.set_srid(shapely.points(acc["lon"][i], acc["lat"][i]), SRID)
        out["geom"] = Geometry(shapely.to_wkb(point, include_srid=True))
        d = acc["border_distance_m"][i]
        out["border_distance_m"] = None if np.isnan(d) else float(d)
        out["source"] = self.t.source
        return out


SPEC = SourceSpec(
    kind=NAME,
    table="bcp",
    title="border crossing points",
    natural_key=("code",),
    columns=(
        Column("code", "text", required=True, pattern=CODE_RE, code="bad_code",
               message="code must be 2-32 of A-Z, 0-9 and '-'"),
        Column("name_a", "text", required=True, max_length=200),
        Column("name_b", "text", required=True, max_length=200),
        Column("country_a", "ref", required=True, ref="country", code="unknown_country"),
        Column("country_b", "ref", required=True, ref="country", code="unknown_country"),
        Column("mode", "enum", required=True, choices=MODES, code="bad_mode"),
        Column("e_road", "text", case="upper", pattern=E_ROAD_RE, code="bad_e_road",
               message="{value!r} is not an E-road number"),
        Column("joint_control", "bool"),
        Column("one_stop", "bool"),
        Column("lat", "float", required=True, target=None, min_value=-90, max_value=90,
               code="out_of_range", message="{value} is outside ±90"),
        Column("lon", "float", required=True, target=None, min_value=-180, max_value=180,
               code="out_of_range", message="{value} is outside ±180"),
        Column("coord_confidence", "text", max_length=200),
        Column("notes", "text", target="attrs"),
    ),
    checks=(_countries_and_pair, _near_border),
    references=("pair",),
    lookups=(_border_distance,),
    duplicates="reject_all",
    duplicate_code="duplicate_code",
    store=BcpStore,
)
#: Declared columns (the registry's header).
COLUMNS = SPEC.names


# --------------------------------------------------------------- validation without a database


@dataclass(frozen=True)
class RegistryContext:
    """What validating a registry without a database needs to know of the warehouse.

    Parameters
    ----------
    countries
        ISO alpha-2 codes present in ``country``.
    pairs
        ``pair_id`` of every border line (alphabetical, e.g. ``HU-RS``).
    border_m
        Distance in metres from each row (by row number) to its pair's border line, measured
        beforehand.
    max_border_km
        ``Settings.bcp_max_border_km``.
    """

    countries: frozenset[str]
    pairs: frozenset[str]
    border_m: Mapping[int, float]
    max_border_km: float


@dataclass
class Validated:
    """Rows that would be loaded (as ``bcp`` rows without geometry), rejects, and the row
    numbers of identical repeats of a loaded row."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)


def validate(rows: Sequence[tuple[int, Mapping[str, str | None]]], ctx: RegistryContext
             ) -> Validated:
    """Check registry rows (``(row_number, raw)`` as read) with the registry's spec, the
    border distances taken from ``ctx`` instead of PostGIS."""
    names = list(dict.fromkeys(k for _, raw in rows for k in raw))
    frame = pd.DataFrame([[raw.get(k) or "" for k in names] for _, raw in rows], columns=names,
                         dtype=object)
    frame[ROW] = np.array([n for n, _ in rows], dtype=np.int64)
    extras = tuple(k for k in names if k not in COLUMNS)
    refs = References(codes={"country": set(ctx.countries), "pair": set(ctx.pairs)})
    settings = Settings(bcp_max_border_km=ctx.max_border_km)
    measured = np.array([ctx.border_m.get(int(n), np.nan) for n, _ in rows], dtype=float)
    validator = Validator(SPEC, refs, _context(settings=settings), extras=extras,
                          database=lambda _lookup: {"border_distance_m": measured})
    result = validator.validate(frame, {k: k for k in names})
    acc = result.accepted
    accepted = [{"code": acc["code"][i], "border_distance_m": _none(acc["border_distance_m"][i]),
                 "attrs": {k: v[i] for k, v in
                           [("notes", acc["notes"]), *((x, acc[f"attr:{x}"]) for x in extras)]
                           if v[i] is not None}}
                for i in range(len(result.accepted_rows))]
    taken = set(result.accepted_rows.tolist()) | {r.row_number for r in result.rejects}
    repeats = [int(n) for n, _ in rows if int(n) not in taken]
    return Validated(accepted, result.rejects, repeats)


def _none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
