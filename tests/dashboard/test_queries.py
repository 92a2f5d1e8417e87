"""Dashboard queries against a real PostGIS warehouse (seeded by ``tests/dashboard/seed.py``)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import h3
import pytest
from geoalchemy2.shape import to_shape
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape
from sqlalchemy import Engine, select, text

from dashboard.queries import gateway, incidents, reference
from dashboard.viewstate import Filters
from etl.errors import QueryError
from etl.warehouse.engine import engine_for_url
from tests.dashboard.seed import incident_row, insert_incidents, seed_incidents, seed_reference

TODAY = datetime.now(UTC).date()
ALL = Filters(date_from=TODAY - timedelta(days=365), date_to=TODAY)
WHOLE = incidents.BBox(10.0, 40.0, 25.0, 48.0)


@pytest.fixture
def rows(engine: Engine) -> list[dict]:
    seed_reference(engine)
    return seed_incidents(engine, 80)


def _lonlat(row: dict) -> tuple[float, float]:
    p = to_shape(row["geom"])
    return p.x, p.y


def test_points_when_few_enough_in_view(engine: Engine, rows: list[dict]) -> None:
    layer = incidents.incident_layer(engine, ALL, WHOLE, zoom=7, cap=1000)
    assert layer.mode == "points"
    assert layer.in_view == len(rows) == len(layer.rows)
    assert {r["category"] for r in layer.rows} == {r["category"] for r in rows}

    west = incidents.BBox(10.0, 40.0, 18.0, 48.0)
    expected = sum(1 for r in rows if _lonlat(r)[0] < 18.0)
    assert incidents.incident_layer(engine, ALL, west, 7, 1000).in_view == expected


def test_clusters_when_too_many_in_view(engine: Engine, rows: list[dict]) -> None:
    layer = incidents.incident_layer(engine, ALL, WHOLE, zoom=6, cap=20)
    assert layer.mode == "clusters"
    assert layer.in_view == len(rows)
    assert 0 < len(layer.rows) <= 20
    for cell in layer.rows:
        assert cell["count"] == sum(cell[c] for c in Counter(r["category"] for r in rows))
    assert sum(c["count"] for c in layer.rows) <= len(rows)


def test_filters_restrict_every_query(engine: Engine, rows: list[dict]) -> None:
    crisis = Filters(ALL.date_from, ALL.date_to, categories=("crisis",))
    expected = sum(1 for r in rows if r["category"] == "crisis")
    assert incidents.count(engine, crisis) == expected
    assert incidents.incident_layer(engine, crisis, WHOLE, 7, 1000).in_view == expected

    pair = Filters(ALL.date_from, ALL.date_to, pairs=("HR-RS",))
    assert incidents.count(engine, pair) == sum(1 for r in rows if r["section_id"].startswith("HR-RS"))
    country = Filters(ALL.date_from, ALL.date_to, countries=("BA",))
    assert incidents.count(engine, country) == sum(1 for r in rows if r["country"] == "BA")
    sub = Filters(ALL.date_from, ALL.date_to, subtypes=("drugs",))
    assert incidents.count(engine, sub) == sum(1 for r in rows if r["subtype"] == "drugs")

    week = Filters(TODAY - timedelta(days=6), TODAY)
    start = datetime.combine(TODAY - timedelta(days=6), datetime.min.time(), tzinfo=UTC)
    assert incidents.count(engine, week) == sum(1 for r in rows if r["occurred_at"] >= start)


@pytest.mark.parametrize("resolution", [3, 4, 5, 7, 9])
def test_hex_counts_match_h3(engine: Engine, rows: list[dict], resolution: int) -> None:
    got = dict(incidents.hex_counts(engine, ALL, WHOLE, resolution, cap=5000))
    stored = "h3_r5" if resolution <= 5 else f"h3_r{resolution}"
    expected = Counter(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(r[stored]), resolution)) for r in rows)
    assert got == dict(expected)
    capped = incidents.hex_counts(engine, ALL, WHOLE, resolution, cap=3)
    assert len(capped) == min(3, len(expected))
    assert [n for _, n in capped] == sorted(expected.values(), reverse=True)[: len(capped)]


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lng=st.floats(-179, 179),
    fine=st.integers(5, 9),
    coarse=st.integers(0, 4),
)
def test_h3_parent_masks(lat: float, lng: float, fine: int, coarse: int) -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(lat, lng, fine))
    keep, setbits = incidents.h3_parent_masks(coarse)
    signed = cell if cell < 2**63 else cell - 2**64
    parent = ((signed & keep) | setbits) % 2**64
    assert parent == h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), coarse))


def test_feed_is_newest_first_and_filtered(engine: Engine, rows: list[dict]) -> None:
    items = incidents.feed(engine, ALL, limit=10)
    newest = sorted(rows, key=lambda r: r["occurred_at"], reverse=True)[:10]
    assert [i["incident_id"] for i in items] == [r["incident_id"] for r in newest]
    other = incidents.feed(engine, Filters(ALL.date_from, ALL.date_to, categories=("other",)))
    assert other and all(i["category"] == "other" for i in other)


def test_new_since_watermark(engine: Engine, rows: list[dict]) -> None:
    start = incidents.extent(engine)
    assert start.max_id > 0 and start.last is not None
    assert incidents.new_since(engine, ALL, start.max_id).count == 0
    insert_incidents(
        engine,
        [incident_row(ident="NEW1", lon=18.1, lat=45.5, occurred_at=datetime.now(UTC), category="crisis")],
    )
    new = incidents.new_since(engine, ALL, start.max_id)
    assert (new.count, len(new.rows), new.max_id) == (1, 1, start.max_id + 1)
    assert new.rows[0]["category"] == "crisis"
    other_only = Filters(ALL.date_from, ALL.date_to, categories=("other",))
    assert incidents.new_since(engine, other_only, start.max_id).count == 0


def test_detail_has_every_field_and_context(engine: Engine, rows: list[dict]) -> None:
    pk = incidents.feed(engine, ALL, limit=1)[0]["id"]
    got = incidents.detail(engine, pk)
    assert got is not None
    for column in (
        "incident_id",
        "occurred_at",
        "category",
        "subtype",
        "persons",
        "nationalities",
        "description",
        "attrs",
        "h3_r7",
        "lon",
        "lat",
    ):
        assert column in got
    assert got["section_pair"] == got["section_id"][:5]
    assert got["section_impact"] in ("low", "medium", "high", "critical")
    assert got["country_name"]
    assert incidents.detail(engine, 10**12) is None


def test_extent_of_empty_warehouse(engine: Engine) -> None:
    assert incidents.extent(engine) == incidents.Extent(None, None, 0)
    assert incidents.subtypes(engine) == {}


def test_subtypes_by_category(engine: Engine, rows: list[dict]) -> None:
    got = incidents.subtypes(engine)
    assert set(got["crisis"]) == {"flood"}
    assert set(got["unauthorised_crossing"]) <= {"green_border", "hidden_in_vehicle"}


def test_reference_layers(engine: Engine, rows: list[dict]) -> None:
    countries = reference.basemap(engine)
    assert [c.iso2 for c in countries] == ["BA", "HR", "RS"]
    for c in countries:
        assert shape(c.geometry).contains(Point(c.label_lon, c.label_lat))
    assert len(reference.basemap(engine, detailed=True)) == 3

    assert len(reference.sections(engine)) == 6
    hr_rs = reference.sections(engine, pairs=("HR-RS",))
    assert {s["section_id"] for s in hr_rs} == {"HR-RS-01", "HR-RS-02"}
    assert hr_rs[0]["geometry"]["type"] == "MultiLineString"

    assert {b["code"] for b in reference.bcps(engine, pairs=("BA-HR",))} == {"BA-HR-GRADISKA"}
    assert len(reference.bcps(engine, countries=("HR",))) == 3
    areas = reference.patrol_areas(engine)
    assert [(a["pair_id"], a["depth_km"]) for a in areas] == [("BA-HR", 5.0)]
    assert reference.patrol_areas(engine, pairs=("HR-RS",)) == []
    assert [p["pair_id"] for p in reference.pair_options(engine)] == ["BA-HR", "BA-RS", "HR-RS"]
    assert {c["iso2"] for c in reference.country_options(engine)} == {"BA", "HR", "RS"}


def test_statement_timeout_becomes_a_safe_query_error(engine: Engine) -> None:
    slow = engine_for_url(engine.url.render_as_string(hide_password=False), 100)
    try:
        with pytest.raises(QueryError) as caught:
            gateway.fetch_all(slow, select(text("pg_sleep(2)")))
        message = caught.value.user_message
        assert "took too long" in message
        assert "postgresql" not in message and str(engine.url.port) not in message
    finally:
        slow.dispose()


def test_gateway_is_read_only(engine: Engine) -> None:
    with pytest.raises(QueryError):
        gateway.fetch_all(engine, text("CREATE TABLE sneaky (x int)"))


def test_bbox_from_leaflet() -> None:
    assert incidents.BBox.from_leaflet([[40, 15], [45, 20]]) == incidents.BBox(15, 40, 20, 45)
    assert incidents.BBox.from_leaflet([[40, -200], [95, 20]]) == incidents.BBox(-180, 40, 20, 85)
    assert incidents.BBox.from_leaflet(None) is None
    assert incidents.BBox.from_leaflet([[1, 2]]) is None
    assert incidents.BBox.from_leaflet([[45, 20], [40, 15]]) is None


def test_resolution_grows_with_zoom() -> None:
    resolutions = [incidents.h3_resolution_for_zoom(z) for z in range(3, 19)]
    assert resolutions == sorted(resolutions)
    assert set(resolutions) == {3, 4, 5, 7, 9}
