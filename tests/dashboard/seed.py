"""A tiny, hand-made warehouse for dashboard tests (inserted with SQLAlchemy Core).

Three box-shaped countries (HR north-west, BA south-west, RS east), their border lines split
into sections with every impact level, four BCPs, one joint patrol area and a reproducible set
of enriched incidents (country, section, nearest BCP, H3 ids computed with h3-py).
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import h3
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, box
from sqlalchemy import Engine, func, insert, select

from etl.warehouse.schema import (
    INCIDENT_CATEGORIES,
    bcp,
    border_line,
    border_section,
    country,
    flow,
    incident,
    joint_patrol_agreement,
    joint_patrol_area,
)

COUNTRIES = {
    "HR": ("HRV", "Croatia", box(15.0, 45.0, 18.0, 46.5)),
    "BA": ("BIH", "Bosnia and Herzegovina", box(15.0, 43.0, 18.0, 45.0)),
    "RS": ("SRB", "Serbia", box(18.0, 43.0, 21.0, 46.5)),
}
LINES = {
    "BA-HR": LineString([(15.0, 45.0), (18.0, 45.0)]),
    "BA-RS": LineString([(18.0, 43.0), (18.0, 45.0)]),
    "HR-RS": LineString([(18.0, 45.0), (18.0, 46.5)]),
}
IMPACTS = {
    "BA-HR-01": "medium",
    "BA-HR-02": "low",
    "BA-RS-01": "high",
    "BA-RS-02": "low",
    "HR-RS-01": "critical",
    "HR-RS-02": "low",
}
BCPS = [
    ("RS-HR-BATROVCI", "Batrovci", "Bajakovo", "RS", "HR", "road", True, False, 18.0, 45.05),
    ("BA-HR-GRADISKA", "Gradiška", "Stara Gradiška", "BA", "HR", "road", False, True, 17.2, 45.0),
    ("BA-RS-RACA", "Rača", "Sremska Rača", "BA", "RS", "rail", False, False, 18.0, 44.9),
    ("HR-RS-TOVARNIK", "Tovarnik", "Šid", "HR", "RS", "rail", False, False, 18.0, 45.7),
]
SUBTYPES = {
    "unauthorised_crossing": ["green_border", "hidden_in_vehicle"],
    "cross_border_crime": ["smuggling_goods", "drugs"],
    "crisis": ["flood"],
    "other": ["suspicious_vehicle"],
}


def seed_reference(engine: Engine) -> None:
    """Countries, border lines and sections, BCPs and one joint patrol area."""
    with engine.begin() as conn:
        for iso2, (iso3, name, shape) in COUNTRIES.items():
            conn.execute(
                insert(country).values(
                    iso2=iso2,
                    iso3=iso3,
                    name=name,
                    is_target=True,
                    footnote=None,
                    geom=from_shape(MultiPolygon([shape]), srid=4326),
                )
            )
        for pair, line in LINES.items():
            a, b = pair.split("-")
            conn.execute(
                insert(border_line).values(
                    pair_id=pair,
                    country_a=a,
                    country_b=b,
                    length_km=line.length * 100,
                    geom=from_shape(MultiLineString([line]), srid=4326),
                )
            )
            (x0, y0), (x1, y1) = line.coords
            mid = ((x0 + x1) / 2, (y0 + y1) / 2)
            for seq, part in enumerate([LineString([(x0, y0), mid]), LineString([mid, (x1, y1)])], 1):
                sid = f"{pair}-{seq:02d}"
                conn.execute(
                    insert(border_section).values(
                        section_id=sid,
                        pair_id=pair,
                        seq=seq,
                        length_km=part.length * 100,
                        impact_level=IMPACTS[sid],
                        impact_reason=f"test level {IMPACTS[sid]}",
                        geom=from_shape(MultiLineString([part]), srid=4326),
                    )
                )
        for code, na, nb, ca, cb, mode, joint, one_stop, lon, lat in BCPS:
            conn.execute(
                insert(bcp).values(
                    code=code,
                    name_a=na,
                    name_b=nb,
                    country_a=ca,
                    country_b=cb,
                    mode=mode,
                    e_road="E70" if mode == "road" else None,
                    joint_control=joint,
                    one_stop=one_stop,
                    geom=from_shape(Point(lon, lat), srid=4326),
                )
            )
        conn.execute(
            insert(joint_patrol_agreement).values(
                agreement_id="BA-HR-2008",
                country_a="BA",
                country_b="HR",
                depth_km=5.0,
                status="documented",
                legal_basis="Police Cooperation Convention for SEE",
            )
        )
        band = box(15.0, 44.955, 18.0, 45.045)
        conn.execute(
            insert(joint_patrol_area).values(
                agreement_id="BA-HR-2008", area_km2=2500.0, geom=from_shape(MultiPolygon([band]), srid=4326)
            )
        )


def _country_of(lon: float, lat: float) -> str:
    for iso2, (_, _, shape) in COUNTRIES.items():
        if shape.covers(Point(lon, lat)):
            return iso2
    return "RS"


def _nearest_section(lon: float, lat: float) -> tuple[str, float]:
    best = ("", float("inf"))
    for pair, line in LINES.items():
        (x0, y0), (x1, y1) = line.coords
        mid = ((x0 + x1) / 2, (y0 + y1) / 2)
        for seq, part in enumerate([LineString([(x0, y0), mid]), LineString([mid, (x1, y1)])], 1):
            d = part.distance(Point(lon, lat)) * 111_000
            if d < best[1]:
                best = (f"{pair}-{seq:02d}", d)
    return best


def incident_row(
    *,
    ident: str,
    lon: float,
    lat: float,
    occurred_at: datetime,
    category: str,
    subtype: str | None = None,
    persons: int | None = 1,
    description: str | None = None,
) -> dict[str, Any]:
    """One enriched incident row, as ``etl/load.py`` would write it."""
    section, dist = _nearest_section(lon, lat)
    nearest = min(BCPS, key=lambda b: (b[8] - lon) ** 2 + (b[9] - lat) ** 2)
    near_m = Point(lon, lat).distance(Point(nearest[8], nearest[9])) * 111_000
    return {
        "source": "test",
        "incident_id": ident,
        "occurred_at": occurred_at,
        "category": category,
        "subtype": subtype,
        "persons": persons,
        "nationalities": ["AFG", "SYR"],
        "direction": "entry",
        "detection": "patrol",
        "impact": "low",
        "reporting_country": _country_of(lon, lat),
        "sharing": "regional",
        "description": description or f"Test incident {ident}",
        "bcp_code": None,
        "country": _country_of(lon, lat),
        "section_id": section,
        "border_distance_m": dist,
        "nearest_bcp": nearest[0] if near_m <= 10_000 else None,
        "nearest_bcp_m": near_m if near_m <= 10_000 else None,
        "h3_r5": h3.str_to_int(h3.latlng_to_cell(lat, lon, 5)),
        "h3_r7": h3.str_to_int(h3.latlng_to_cell(lat, lon, 7)),
        "h3_r9": h3.str_to_int(h3.latlng_to_cell(lat, lon, 9)),
        "attrs": {"patrol_unit": "P-7"},
        "content_hash": hashlib.md5(ident.encode()).hexdigest(),
        "geom": from_shape(Point(lon, lat), srid=4326),
    }


def seed_incidents(
    engine: Engine, n: int = 60, *, seed: int = 7, days: int = 60, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``n`` incidents near the borders over the last ``days`` days; returns the rows inserted."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    rows = []
    for i in range(n):
        pair, line = rng.choice(sorted(LINES.items()))
        p = line.interpolate(rng.random(), normalized=True)
        lon = round(p.x + rng.uniform(-0.15, 0.15), 5)
        lat = round(p.y + rng.uniform(-0.15, 0.15), 5)
        category = INCIDENT_CATEGORIES[i % len(INCIDENT_CATEGORIES)]
        rows.append(
            incident_row(
                ident=f"T{i:04d}",
                lon=lon,
                lat=lat,
                occurred_at=now - timedelta(days=rng.uniform(0, days - 1), minutes=5),
                category=category,
                subtype=rng.choice(SUBTYPES[category]),
                persons=rng.randint(1, 12),
            )
        )
    insert_incidents(engine, rows)
    return rows


def insert_incidents(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Insert incident rows (as built by :func:`incident_row`)."""
    with engine.begin() as conn:
        conn.execute(insert(incident), rows)


def max_incident_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(incident.c.id), 0))).scalar_one())


def seed_hotspots(engine: Engine, resolution: int = 6, k: int = 1) -> int:
    """A current hotspot analysis (Gi* of synthetic weekly counts around a hot cell in RS near
    the HR border, with a quiet cell of one single incident beside it) and a suggested impact
    level with its evidence (HR-RS-02: decided low, suggested high, "1 incident(s)");
    returns the single-incident cell."""
    import numpy as np
    from h3.api import basic_int as h3int

    from etl.analytics.hotspot_store import Meta, write_result
    from etl.analytics.hotspots.analysis import Params, Steps, analyse
    from etl.warehouse.schema import section_impact_suggestion

    centre = h3int.latlng_to_cell(45.05, 19.10, resolution)
    cells = np.sort(np.array(list(h3int.grid_disk(centre, 6)), dtype=np.uint64).view(np.int64))
    cube = np.random.default_rng(2).poisson(0.3, (len(cells), 12)).astype(float)
    cube[int(np.flatnonzero(cells == centre)[0]), :] += 6
    lone_cell = int(h3int.grid_ring(centre, 1)[0])
    lone = int(np.flatnonzero(cells == lone_cell)[0])
    cube[lone, :] = 0
    cube[lone, -1] = 1
    params = Params(resolution=resolution, k=k)
    meta = Meta(run_id=None, steps=Steps(datetime(2025, 1, 6).date(), 12), params=params,
                zone_km=30.0, categories=(), incidents=int(cube.sum()), left_out=0)
    with engine.begin() as conn:
        write_result(conn.connection.driver_connection, meta, analyse(cells, cube, params))  # type: ignore[arg-type]
        conn.execute(insert(section_impact_suggestion).values(
            section_id="HR-RS-02", level="high", recent=1, baseline=0.2, ratio=5.0,
            reason="suggested by borderwatch from incident pressure: 1 incident(s) within "
                   "2025-11-04..2025-12-01 against 0.2 per 28 days; decided level low"))
    return lone_cell


def flow_rows(
    code: str, reporting: str, direction: str, category: str, first: date, counts: list[int],
    *, waits: list[float] | None = None,
) -> list[dict[str, Any]]:
    """Daily flow rows of one side, direction and category from ``first`` on."""
    rows = []
    for i, n in enumerate(counts):
        wait = waits[i] if waits else None
        rows.append({
            "bcp_code": code, "reporting_country": reporting, "date": first + timedelta(days=i),
            "direction": direction, "category": category, "count": int(n),
            "wait_minutes_avg": wait, "wait_minutes_max": None if wait is None else wait * 2,
            "lanes_open": None, "source": "test", "attrs": {},
            "content_hash": hashlib.md5(f"{code}{reporting}{direction}{category}{i}".encode())
            .hexdigest()[:16],
        })
    return rows


def insert_flows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Insert flow rows (as built by :func:`flow_rows`)."""
    with engine.begin() as conn:
        conn.execute(insert(flow), rows)
