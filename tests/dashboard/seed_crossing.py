"""A small known dataset around Batrovci for the crossing page's tests: both sides' flows with
a planted closure and a planted mismatch, a peer crossing, incidents at known distances and
three placed at the BCP by its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from geoalchemy2.shape import from_shape
from pyproj import Geod
from shapely.geometry import Point
from sqlalchemy import Engine, insert

from etl.warehouse.schema import bcp
from tests.dashboard.seed import (
    flow_rows,
    incident_row,
    insert_flows,
    insert_incidents,
    seed_reference,
)

CODE = "RS-HR-BATROVCI"
LON, LAT = 18.0, 45.05
FIRST = datetime(2024, 3, 4).date()  # a Monday
DAYS = 120
CLOSED = 80  # both directions, both sides: traffic at a tenth
MISMATCH = 90  # Croatia counts 30 % fewer arriving than Serbia counted leaving
WEEKLY = np.array([0.95, 0.88, 0.88, 0.92, 1.15, 1.1, 1.2])
GEOD = Geod(ellps="WGS84")
NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)


def _traffic(seed: int, level: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weekday = pd.date_range(FIRST, periods=DAYS, freq="D").dayofweek
    counts = rng.poisson(level * WEEKLY[weekday] * rng.lognormal(0, 0.03, DAYS)).astype(float)
    counts[CLOSED] *= 0.1
    return counts


def seed_crossing(engine: Engine) -> Engine:
    """The reference geodata of ``seed_reference`` plus the dataset described above."""
    seed_reference(engine)
    with engine.begin() as conn:
        conn.execute(insert(bcp).values(
            code="RS-HR-PEER", name_a="Peer", name_b="Peer HR", country_a="RS", country_b="HR",
            mode="road", geom=from_shape(Point(18.0, 45.6), srid=4326)))
    rows = []
    entering_rs, leaving_rs = _traffic(1, 4000), _traffic(2, 3800)
    ratio = np.random.default_rng(3).normal(1.0, 0.004, DAYS)
    seen_by_hr = np.rint(leaving_rs * ratio)
    seen_by_hr[MISMATCH] = np.rint(leaving_rs[MISMATCH] * 0.7)
    rows += flow_rows(CODE, "RS", "entry", "persons", FIRST, list(entering_rs))
    rows += flow_rows(CODE, "RS", "exit", "persons", FIRST, list(leaving_rs))
    rows += flow_rows(CODE, "HR", "entry", "persons", FIRST, list(seen_by_hr))
    rows += flow_rows(CODE, "HR", "exit", "persons", FIRST, list(np.rint(entering_rs / ratio)))
    rows += flow_rows(CODE, "RS", "entry", "trucks", FIRST, [500] * DAYS, waits=[30.0] * DAYS)
    rows += flow_rows("RS-HR-PEER", "RS", "entry", "persons", FIRST, [1000] * DAYS)
    rows += flow_rows("RS-HR-PEER", "HR", "entry", "cars", FIRST, [300] * DAYS,
                      waits=[10.0] * DAYS)
    insert_flows(engine, rows)
    incidents = []
    for name, km in (("I-2", 2.0), ("I-9.9", 9.9), ("I-10.1", 10.1), ("I-15", 15.0)):
        lon, lat, _ = GEOD.fwd(LON, LAT, 90.0, km * 1000.0)
        incidents.append(incident_row(ident=name, lon=lon, lat=lat, occurred_at=NOW,
                                      category="cross_border_crime", subtype="drugs"))
    for i in range(3):  # placed at the BCP by its code only
        row = incident_row(ident=f"AT-{i}", lon=LON, lat=LAT, occurred_at=NOW - timedelta(days=i),
                           category="unauthorised_crossing", subtype="clandestine_at_bcp")
        row.update(bcp_code=CODE, detection="bcp_check")
        incidents.append(row)
    old = incident_row(ident="OLD", lon=LON, lat=LAT, occurred_at=NOW - timedelta(days=400),
                       category="other")
    incidents.append(old)
    insert_incidents(engine, incidents)
    return engine
