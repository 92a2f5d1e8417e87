"""Reference data a load checks its rows against, read once per load.

``codes(db, name)`` gives the known codes of one reference set by its name, as input specs
name them (``Column(ref=...)``, ``SourceSpec.references``); ``geography`` the geometries that
enrichment needs; ``border_distances_m`` how far points lie from their pair's border line.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

#: Reference set name -> (statement giving its codes, what it is called, its table).
CODE_SETS: dict[str, tuple[str, str, str]] = {
    "bcp": ("SELECT code FROM bcp", "BCPs", "bcp"),
    "country": ("SELECT iso2 FROM country", "countries", "country"),
    "component": ("SELECT component_id FROM ibm_component", "IBM framework components",
                  "ibm_component"),
    "level": ("SELECT level FROM ibm_level", "IBM levels", "ibm_level"),
    "section": ("SELECT section_id FROM border_section", "border sections", "border_section"),
    "pair": ("SELECT pair_id FROM border_line", "border lines", "border_line"),
}
_BCPS = "SELECT code, ST_X(geom), ST_Y(geom), country_a, country_b FROM bcp ORDER BY code"
_COUNTRIES = "SELECT iso2, ST_AsBinary(geom) FROM country ORDER BY is_target DESC, iso2"
_SECTIONS = (
    "SELECT s.section_id, ST_AsBinary(s.geom), l.country_a, l.country_b"
    " FROM border_section s JOIN border_line l ON l.pair_id = s.pair_id ORDER BY s.section_id"
)
_BORDER_DISTANCE = (
    "SELECT k.ord, ST_Distance(ST_SetSRID(ST_MakePoint(k.lon, k.lat), 4326)::geography,"
    " b.geom::geography)"
    " FROM unnest(%s::text[], %s::float8[], %s::float8[]) WITH ORDINALITY AS k(pair, lon, lat, ord)"
    " JOIN border_line b ON b.pair_id = k.pair"
)


def codes(db: psycopg.Connection, name: str) -> set[object]:
    """The known codes of reference set ``name`` (one of ``CODE_SETS``)."""
    return {r[0] for r in db.execute(CODE_SETS[name][0]).fetchall()}  # type: ignore[arg-type]


def bcp_countries(db: psycopg.Connection) -> dict[str, tuple[str, str]]:
    """BCP code -> (country_a, country_b), the two countries a crossing lies between."""
    rows = db.execute("SELECT code, country_a, country_b FROM bcp").fetchall()
    return {str(c): (str(a), str(b)) for c, a, b in rows}


def describe(name: str) -> tuple[str, str]:
    """(what the set is called, its table), for messages."""
    _, label, table = CODE_SETS[name]
    return label, table


@dataclass(frozen=True)
class GeographyRows:
    """The rows enrichment is built from (``etl.enrich.build_geography``)."""

    countries: list[tuple[str, bytes]]
    sections: list[tuple[str, bytes, str, str]]
    bcps: list[tuple[str, float, float, str, str]]


def geography(db: psycopg.Connection) -> GeographyRows:
    """Countries (iso2, WKB), border sections (id, WKB, country_a, country_b) and BCPs (code,
    lon, lat, country_a, country_b)."""
    bcps = db.execute(_BCPS).fetchall()
    countries = db.execute(_COUNTRIES).fetchall()
    sections = db.execute(_SECTIONS).fetchall()
    return GeographyRows(
        [(str(c), bytes(g)) for c, g in countries],
        [(str(s), bytes(g), str(a), str(b)) for s, g, a, b in sections],
        [(str(c), float(x), float(y), str(a), str(b)) for c, x, y, a, b in bcps],
    )


def border_distances_m(db: psycopg.Connection, pairs: list[str], lon: list[float],
                       lat: list[float]) -> dict[int, float]:
    """Geodesic distance (m, PostGIS ``geography``) of each point to its pair's border line,
    by position in the lists (points whose pair has no line are left out)."""
    if not pairs:
        return {}
    rows = db.execute(_BORDER_DISTANCE, (pairs, lon, lat)).fetchall()
    return {int(i) - 1: float(d) for i, d in rows}
