"""Map layer builders: rows in, compact GeoJSON out (no database, no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import h3
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from dashboard.components import layers
from dashboard.components.palette import DENSITY_COLORS
from dashboard.queries.reference import Country


def test_incident_points_are_compact_and_rounded() -> None:
    rows = [
        {"id": 7, "category": "crisis", "lon": 19.123456789, "lat": 45.987654321},
        {"id": 8, "category": "unauthorised_crossing", "lon": 20.0, "lat": 44.0},
    ]
    fc = layers.incident_points(rows)
    assert [f["properties"] for f in fc["features"]] == [{"id": 7, "c": 2}, {"id": 8, "c": 0}]
    assert fc["features"][0]["geometry"]["coordinates"] == [19.12346, 45.98765]
    # 5,000 points (the default cap) stay well under 1 MB per update.
    big = layers.incident_points(
        [{"id": 9_999_999, "category": "other", "lon": -179.123456, "lat": -84.123456}]
    )["features"][0]
    assert 5000 * len(json.dumps(big, separators=(",", ":"))) < 700_000


def test_server_clusters_carry_count_dominant_category_and_escaped_tooltip() -> None:
    row = {
        "lon": 19.0,
        "lat": 45.0,
        "count": 9,
        "unauthorised_crossing": 2,
        "cross_border_crime": 6,
        "crisis": 1,
        "other": 0,
    }
    (feature,) = layers.incident_clusters([row])["features"]
    props = feature["properties"]
    assert props["count"] == 9 and props["c"] == layers.CATEGORY_INDEX["cross_border_crime"]
    assert "Cross-border crime: 6" in props["tooltip"] and "Other" not in props["tooltip"]


def test_bcps_have_glyph_by_mode_joint_mark_and_both_names() -> None:
    rows = [
        {
            "code": "A",
            "name_a": "Batrovci",
            "name_b": "Bajakovo",
            "country_a": "RS",
            "country_b": "HR",
            "mode": "road",
            "e_road": "E70",
            "joint_control": True,
            "one_stop": False,
            "lon": 19.1,
            "lat": 45.05,
        },
        {
            "code": "B",
            "name_a": "<b>x</b>",
            "name_b": "Šid & co",
            "country_a": "RS",
            "country_b": "HR",
            "mode": "rail",
            "e_road": None,
            "joint_control": False,
            "one_stop": False,
            "lon": 19.2,
            "lat": 45.1,
        },
        {
            "code": "C",
            "name_a": "a",
            "name_b": "b",
            "country_a": "AL",
            "country_b": "ME",
            "mode": "ferry",
            "e_road": None,
            "joint_control": False,
            "one_stop": True,
            "lon": 19.3,
            "lat": 42.1,
        },
    ]
    a, b, c = (f["properties"] for f in layers.bcps_layer(rows)["features"])
    assert (a["g"], a["s"], a["j"]) == ("R", "circle", 1)
    assert (b["g"], b["s"], b["j"]) == ("T", "square", 0)
    assert (c["g"], c["j"]) == ("B", 1)
    assert "<b>Batrovci</b> (RS) – <b>Bajakovo</b> (HR)" in a["tooltip"]
    assert "E70" in a["tooltip"] and "joint controls" in a["tooltip"]
    assert "&lt;b&gt;x&lt;/b&gt;" in b["tooltip"] and "Šid &amp; co" in b["tooltip"]
    assert "one-stop" in c["tooltip"]
    assert layers.bcp_hideout("p", 6)["compact"] and not layers.bcp_hideout("p", 7)["compact"]


def test_sections_are_labelled_with_the_level_in_words() -> None:
    geometry = {"type": "MultiLineString", "coordinates": [[[19, 45], [19, 46]]]}
    rows = [
        {
            "section_id": f"HR-RS-0{i}",
            "pair_id": "HR-RS",
            "impact_level": level,
            "impact_reason": None,
            "geometry": geometry,
        }
        for i, level in enumerate(("low", "medium", "high", "critical"), 1)
    ]
    labels = [f["properties"]["label"] for f in layers.sections_layer(rows)["features"]]
    assert labels == ["HR-RS-01 · LOW", "HR-RS-02 · MEDIUM", "HR-RS-03 · HIGH", "HR-RS-04 · CRITICAL"]
    styles = layers.sections_hideout("labels")["levels"]
    assert len({(s["color"], s["weight"], s["dashArray"]) for s in styles.values()}) == 4


def test_section_tooltip_shows_level_reason_and_date_of_attribution() -> None:
    geometry = {"type": "MultiLineString", "coordinates": [[[19, 45], [19, 46]]]}
    attributed = {
        "section_id": "HU-RS-02", "pair_id": "HU-RS", "impact_level": "high",
        "impact_reason": "Pressure <near> Horgoš & Röszke",
        "impact_updated_at": datetime(2025, 6, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        "impact_attributed_by": "RS NCC", "geometry": geometry,
    }
    default = {"section_id": "HU-RS-01", "pair_id": "HU-RS", "impact_level": "low",
               "impact_reason": None, "impact_updated_at": None, "geometry": geometry}
    high, low = (f["properties"] for f in layers.sections_layer([attributed, default])["features"])
    assert high["label"] == "HU-RS-02 · HIGH" and high["at"] == "2025-05-31"  # the UTC date
    assert high["tip"] == (
        "<b>HU-RS-02 · HIGH</b>"
        '<span class="bw-tip-reason">Pressure &lt;near&gt; Horgoš &amp; Röszke</span>'
        '<span class="bw-tip-when">attributed 2025-05-31 by RS NCC</span>'
    )
    assert (low["at"], low["reason"]) == ("", "")
    assert low["tip"].startswith("<b>HU-RS-01 · LOW</b>")
    assert "no attribution loaded: low by default" in low["tip"]


def test_patrol_areas_have_polygon_and_label_with_pair_and_depth() -> None:
    polygon = {
        "type": "MultiPolygon",
        "coordinates": [[[[15, 44.9], [18, 44.9], [18, 45.1], [15, 45.1], [15, 44.9]]]],
    }
    rows = [
        {
            "agreement_id": "BA-HR-2008",
            "pair_id": "BA-HR",
            "depth_km": 5.0,
            "status": "documented",
            "legal_basis": "PCC SEE",
            "geometry": polygon,
            "label_lon": 16.5,
            "label_lat": 45.0,
        }
    ]
    features = layers.patrol_layer(rows)["features"]
    assert [f["geometry"]["type"] for f in features] == ["MultiPolygon", "Point"]
    assert features[1]["properties"]["label"] == "BA–HR · 5 km"
    assert "PCC SEE" in features[0]["properties"]["tooltip"]
    assert layers.patrol_label({"pair_id": "RS-HR", "depth_km": 2.5}) == "RS–HR · 2.5 km"


def test_basemap_has_polygons_and_name_points() -> None:
    square = {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]]}
    countries = [
        Country("XK", "Kosovo*", True, "UNSCR 1244", square, 0.5, 0.5),
        Country("HU", "Hungary", False, None, square, 0.5, 0.5),
    ]
    features = layers.basemap_layer(countries)["features"]
    assert [f["geometry"]["type"] for f in features] == ["MultiPolygon"] * 2 + ["Point"] * 2
    assert [f["properties"].get("label") for f in features[2:]] == ["Kosovo*", "Hungary"]
    assert [f["properties"]["t"] for f in features] == [1, 0, 1, 0]


def test_hexagons_match_h3_boundaries_and_classes() -> None:
    cells = [
        (h3.str_to_int(h3.latlng_to_cell(45.0, 19.0, 5)), 30),
        (h3.str_to_int(h3.latlng_to_cell(44.0, 20.0, 5)), 2),
    ]
    breaks = layers.density_breaks([30, 2])
    features = layers.hex_layer(cells, breaks)["features"]
    ring = features[0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]
    assert shape(features[0]["geometry"]).contains(Point(19.0, 45.0))
    assert [f["properties"]["k"] for f in features] == [1, 0]
    assert features[0]["properties"] == {"n": 30, "k": 1}
    assert layers.hex_hideout(breaks)["colors"] == [DENSITY_COLORS[0], DENSITY_COLORS[-1]]


def test_a_full_hotspot_update_stays_under_one_megabyte() -> None:
    base = h3.latlng_to_cell(44.0, 20.0, 7)
    disk = enumerate(h3.grid_disk(base, 40))
    cells = [(h3.str_to_int(c), 10_000 + i) for i, c in disk][: layers.HEX_CAP]
    assert len(cells) == layers.HEX_CAP
    payload = layers.hex_layer(cells, layers.density_breaks([n for _, n in cells]))
    assert len(json.dumps(payload, separators=(",", ":"))) < 1_000_000


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=300))
def test_density_breaks_are_increasing_and_classes_monotonic(counts: list[int]) -> None:
    breaks = layers.density_breaks(counts)
    assert breaks[0] == min(counts)
    assert breaks == sorted(set(breaks)) and 1 <= len(breaks) <= len(DENSITY_COLORS)
    classes = [layers.density_class(n, breaks) for n in sorted(counts)]
    assert classes == sorted(classes)
    assert classes[-1] == len(breaks) - 1
    assert len(layers.hex_hideout(breaks)["colors"]) == len(breaks)


def test_empty_inputs() -> None:
    assert layers.density_breaks([]) == []
    assert layers.selection_point(None, None)["features"] == []
    assert layers.selection_point(19, 45)["features"][0]["properties"] == {"sel": 1}
    assert layers.incident_points([]) == {"type": "FeatureCollection", "features": []}
