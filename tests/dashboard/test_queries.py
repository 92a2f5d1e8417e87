"""Dashboard queries against a real PostGIS warehouse (seeded by ``tests/dashboard/seed.py``)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import h3
import pytest
from geoalchemy2.shape import to_shape
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape
from sqlalchemy import Engine, select, text

from dashboard.components.layers import sections_layer
from dashboard.queries import gateway, incidents, reference
from dashboard.queries import rollup as summary
from dashboard.viewstate import Filters
from etl.errors import QueryError
from etl.load import load_impact_levels
from etl.settings import Settings
from etl.warehouse.engine import engine_for_url
from etl.warehouse.schema import INCIDENT_CATEGORIES, rollup_bucket
from tests.dashboard.seed import SUBTYPES, incident_row, insert_incidents, seed_incidents, seed_reference
from tests.support import TEST_DATA

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


def test_sections_carry_the_latest_attribution(geo_engine: Engine, geo_settings: Settings) -> None:
    load_impact_levels(geo_engine, geo_settings, TEST_DATA / "impact_levels_good.csv")
    rows = {r["section_id"]: r for r in reference.sections(geo_engine, pairs=("HU-RS",))}
    hu_rs = rows["HU-RS-02"]
    assert (hu_rs["impact_level"], hu_rs["impact_attributed_by"]) == ("high", "RS NCC")
    assert hu_rs["impact_updated_at"] == datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
    assert rows["HU-RS-01"]["impact_attributed_by"] is None
    assert "attributed 2025-06-01 by RS NCC" in sections_layer([hu_rs])["features"][0][
        "properties"]["tip"]


def test_basemap_is_cached_until_a_country_changes(engine: Engine, rows: list[dict]) -> None:
    first = reference.basemap(engine)
    assert reference.basemap(engine) is first  # built once
    with engine.begin() as conn:
        conn.execute(text("UPDATE country SET name = 'Srbija' WHERE iso2 = 'RS'"))
    again = reference.basemap(engine)
    assert again is not first and {c.name for c in again} == {"Bosnia and Herzegovina", "Croatia", "Srbija"}
    assert reference.basemap(engine, detailed=True) is not again


def _inside(bounds: list[list[float]], lat: float, lon: float) -> bool:
    (south, west), (north, east) = bounds
    return south <= lat <= north and west <= lon <= east


def test_selection_bounds_of_pairs_and_countries(geo_engine: Engine) -> None:
    batrovci, bezdan = (45.054, 19.101), (45.848, 18.862)  # crossings on the HR-RS border
    istanbul, belgrade, skopje = (41.01, 28.98), (44.82, 20.46), (41.997, 21.43)

    hr_rs = reference.selection_bounds(geo_engine, pairs=("HR-RS",))
    assert hr_rs is not None
    (south, west), (north, east) = hr_rs
    assert south < north and west < east
    assert _inside(hr_rs, *batrovci) and _inside(hr_rs, *bezdan)
    assert not _inside(hr_rs, *istanbul) and not _inside(hr_rs, *belgrade)

    serbia = reference.selection_bounds(geo_engine, countries=("RS",))
    assert serbia is not None and _inside(serbia, *belgrade) and not _inside(serbia, *istanbul)
    both = reference.selection_bounds(geo_engine, countries=("TR", "MK"))
    assert both is not None and _inside(both, *istanbul) and _inside(both, *skopje)
    assert not _inside(both, *belgrade)
    two_pairs = reference.selection_bounds(geo_engine, pairs=("HR-RS", "MK-RS"))
    assert two_pairs is not None and _inside(two_pairs, *batrovci) and _inside(two_pairs, 42.3, 21.8)

    # Pairs take precedence over countries; unknown codes give no extent, never an error.
    assert reference.selection_bounds(geo_engine, pairs=("HR-RS",), countries=("TR",)) == hr_rs
    assert reference.selection_bounds(geo_engine, pairs=("HR-RS", "XX-YY")) == hr_rs
    assert reference.selection_bounds(geo_engine, pairs=("XX-YY",)) is None
    assert reference.selection_bounds(geo_engine, countries=("QQ", "'; DROP TABLE country; --")) is None
    assert reference.selection_bounds(geo_engine) is None


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


# -- the incident rollup: every answer equals raw SQL on the same filters ----------------------


def _refresh(engine: Engine) -> None:
    from etl.analytics import rollup  # the ETL side, which keeps the rollup current

    with engine.begin() as conn:
        rollup.refresh(conn)


def _rollup_in_use(engine: Engine) -> bool:
    with gateway.reading(engine) as reader:
        return summary.current(reader) is not None


@pytest.fixture
def summarised(engine: Engine) -> Engine:
    """500 incidents over 400 days (several buckets of every length) and a current rollup."""
    seed_reference(engine)
    seed_incidents(engine, 500, seed=3, days=400)
    _refresh(engine)
    return engine


def _random_filters(rng: random.Random) -> Filters:
    last = TODAY - timedelta(days=rng.choice([0, 0, 3, 40, 200]))
    first = last - timedelta(days=rng.choice([0, 6, 13, 29, 89, 180, 364, 420]))
    pick = lambda pool, p: tuple(x for x in pool if rng.random() < p) if rng.random() < 0.5 else ()  # noqa: E731
    subtypes = sorted({s for subs in SUBTYPES.values() for s in subs} | {"not_a_subtype"})
    return Filters(date_from=first, date_to=last, categories=pick(INCIDENT_CATEGORIES, 0.5),
                   subtypes=pick(subtypes, 0.3), countries=pick(("BA", "HR", "RS"), 0.5),
                   pairs=pick(("BA-HR", "BA-RS", "HR-RS"), 0.5))


def _raw_where(f: Filters, box: incidents.BBox | None = None) -> tuple[str, dict]:
    """The filters as hand-written SQL (independent of the query modules)."""
    sql = ["occurred_at >= :start", "occurred_at < :end"]
    params: dict = {"start": f.start, "end": f.end}
    for name, column, values in (("cats", "category", f.categories), ("subs", "subtype", f.subtypes),
                                 ("countries", "country", f.countries)):
        if values:
            sql.append(f"{column} = ANY(:{name})")
            params[name] = list(values)
    if f.pairs:
        sql.append("section_id IN (SELECT section_id FROM border_section WHERE pair_id = ANY(:pairs))")
        params["pairs"] = list(f.pairs)
    if box is not None:
        sql.append("ST_X(geom) BETWEEN :w AND :e AND ST_Y(geom) BETWEEN :s AND :n")
        params.update(w=box.west, e=box.east, s=box.south, n=box.north)
    return " AND ".join(sql), params


def _raw(engine: Engine, query: str, f: Filters, box: incidents.BBox | None = None) -> list:
    where, params = _raw_where(f, box)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query.format(where=where)), params)]


def _raw_hexes(engine: Engine, f: Filters, box: incidents.BBox, resolution: int) -> dict[int, int]:
    column = "h3_r7" if resolution == 7 else "h3_r5"
    found: Counter[int] = Counter()
    for cell, n in _raw(engine, f"SELECT {column}, count(*) FROM incident WHERE {{where}} GROUP BY 1",
                        f, box):
        parent = h3.cell_to_parent(h3.int_to_str(cell), resolution) if resolution < 5 else None
        found[h3.str_to_int(parent) if parent else cell] += n
    return dict(found)


def test_rollup_answers_equal_raw_sql(summarised: Engine) -> None:
    engine, rng = summarised, random.Random(11)
    assert _rollup_in_use(engine)
    points = _raw(engine, "SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE {where}",
                  Filters(TODAY - timedelta(days=500), TODAY))
    modes: Counter[str] = Counter()
    for _ in range(80):
        f = _random_filters(rng)
        lon, lat, size = rng.uniform(14.5, 21.5), rng.uniform(42.5, 47.0), rng.choice([0.1, 0.6, 2, 7])
        box = incidents.BBox(lon - size, lat - size / 2, lon + size, lat + size / 2)
        if rng.random() < 0.5:  # an edge through an incident: on it (in view) or just beside it
            x, y = rng.choice(points)
            nudge = rng.choice([0.0, 1e-9, -1e-9])
            box = rng.choice([
                incidents.BBox(x + nudge, y - size / 2, x + 2 * size, y + size / 2),
                incidents.BBox(x - 2 * size, y - size / 2, x + nudge, y + size / 2),
                incidents.BBox(x - size, y + nudge, x + size, y + size),
                incidents.BBox(x - size, y - size, x + size, y + nudge),
            ])
        zoom, cap = rng.randint(6, 12), rng.choice([10, 40, 300])

        total = _raw(engine, "SELECT count(*) FROM incident WHERE {where}", f)[0][0]
        assert incidents.count(engine, f) == total
        in_box = {r[0] for r in _raw(engine, "SELECT id FROM incident WHERE {where}", f, box)}
        layer = incidents.incident_layer(engine, f, box, zoom, cap)
        modes[layer.mode] += 1
        assert layer.in_view == len(in_box)
        if layer.mode == "points":
            assert {r["id"] for r in layer.rows} == in_box and len(in_box) <= incidents.points_cap(cap)
        else:
            assert len(in_box) > incidents.points_cap(cap) and 0 < len(layer.rows) <= cap
            assert all(c["count"] == sum(c[k] for k in INCIDENT_CATEGORIES) for c in layer.rows)
            shown = sum(c["count"] for c in layer.rows)
            assert shown == len(in_box) if len(layer.rows) < cap else shown <= len(in_box)
        for resolution in {3, 4, 5, 7, incidents.h3_resolution_for_zoom(zoom)} - {9}:
            assert dict(incidents.hex_counts(engine, f, box, resolution, 10_000)) == _raw_hexes(
                engine, f, box, resolution)
        newest = _raw(engine, "SELECT id FROM incident WHERE {where} ORDER BY occurred_at DESC, id DESC"
                              " LIMIT 50", f)
        assert [r["id"] for r in incidents.feed(engine, f)] == [r[0] for r in newest]
    assert modes["points"] > 5 and modes["clusters"] > 5


def test_viewport_edges_through_incidents(summarised: Engine) -> None:
    """An incident on the viewport's edge is in view; a nanodegree beyond it is not."""
    engine, everything = summarised, Filters(TODAY - timedelta(days=500), TODAY)
    points = _raw(engine, "SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE {where} ORDER BY id", everything)
    for stale in (False, True):  # through the rollup, then without it (a change is pending)
        if stale:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO incident_rollup_dirty (day) VALUES ('1999-01-01')"))
        assert _rollup_in_use(engine) is not stale
        for x, y in points[::60]:
            for nudge in (0.0, 1e-9, -1e-9):
                for box in (incidents.BBox(x + nudge, y - 1, x + 3, y + 1),
                            incidents.BBox(x - 3, y - 1, x + nudge, y + 1),
                            incidents.BBox(x - 1.5, y + nudge, x + 1.5, y + 2),
                            incidents.BBox(x - 1.5, y - 2, x + 1.5, y + nudge)):
                    want = len(_raw(engine, "SELECT id FROM incident WHERE {where}", everything, box))
                    assert incidents.incident_layer(engine, everything, box, 7, 5).in_view == want
                    hexes = incidents.hex_counts(engine, everything, box, 5, 10_000)
                    assert sum(n for _, n in hexes) == want


def test_stale_rollup_is_not_used_until_refreshed(summarised: Engine) -> None:
    engine = summarised
    everything = Filters(TODAY - timedelta(days=500), TODAY)
    before = incidents.count(engine, everything)
    insert_incidents(engine, [incident_row(ident="LATE", lon=16.5, lat=44.0, occurred_at=datetime.now(UTC),
                                           category="other", subtype="late_subtype")])
    assert not _rollup_in_use(engine)  # an incident the rollup does not hold: read incident
    assert incidents.count(engine, everything) == before + 1
    assert "late_subtype" in incidents.subtypes(engine)["other"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE incident SET category = 'crisis' WHERE incident_id = 'T0001'"))
    _refresh(engine)
    assert _rollup_in_use(engine)
    crisis = Filters(everything.date_from, everything.date_to, categories=("crisis",))
    assert incidents.count(engine, crisis) == _raw(engine, "SELECT count(*) FROM incident WHERE {where}",
                                                   crisis)[0][0]
    assert "late_subtype" in incidents.subtypes(engine)["other"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE incident SET category = 'other' WHERE incident_id = 'T0001'"))
    assert not _rollup_in_use(engine)  # a changed incident is pending


@settings(max_examples=300, deadline=None)
@given(first=st.dates(TODAY - timedelta(days=3000), TODAY), length=st.integers(0, 1500))
def test_buckets_cover_a_range_exactly(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    parts = summary.buckets(first, last)
    day = first
    for span, start in parts:
        assert start == day and rollup_bucket(start, span) == start
        day = start + timedelta(days=span)
    assert day == last + timedelta(days=1)
    # either side: at most 6 days, 3 weeks, 3 x 28 and 3 x 112 days; 448-day buckets between
    assert len(parts) <= 2 * (6 + 3 + 3 + 3) + length // 448 + 1
