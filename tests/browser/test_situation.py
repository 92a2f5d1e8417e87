"""The situation map in a real headless Chromium against a real PostGIS (run with --headless)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.wait import until
from sqlalchemy import Engine, select, text

from etl.warehouse.schema import incident
from tests.browser.conftest import console_errors, screenshot
from tests.dashboard.seed import incident_row, insert_incidents

pytestmark = pytest.mark.browser

REGION = "lat=44.80000&lon=17.60000&z=7"
MAP_COUNT_JS = """
let n = 0;
document.querySelectorAll('.bw-map .bw-cluster [data-count], .bw-map .bw-bcp-badge [data-count]')
    .forEach(e => { n += parseInt(e.getAttribute('data-count'), 10); });
return n + document.querySelectorAll('.bw-map path.bw-incident').length;
"""


def _open(duo: Any, query: str) -> None:
    duo.wait_for_page(f"{duo.server_url}/{query}")
    duo.wait_for_element(".bw-map.leaflet-container", timeout=15)


def _text(duo: Any, selector: str) -> str:
    return str(duo.find_element(selector).text)


def _on_map(duo: Any) -> int:
    return int(duo.driver.execute_script(MAP_COUNT_JS))


def _count_equals(duo: Any, expected: int, timeout: float = 15) -> None:
    """The count shown and the incidents drawn on the map both equal ``expected``."""
    shown = f"{expected:,}"

    def settled() -> bool:
        return (
            _text(duo, "#situation-total") == shown
            and _text(duo, "#situation-in-view") == shown
            and _on_map(duo) == expected
        )

    until(settled, timeout, msg=lambda: (
        f"expected {expected}: total={_text(duo, '#situation-total')} "
        f"in view={_text(duo, '#situation-in-view')} on map={_on_map(duo)}"))


def _choose(duo: Any, selector: str, label: str) -> None:
    """Pick one option of a multi-select dropdown, then close its menu."""
    duo.select_dcc_dropdown(selector, value=label)
    duo.find_element(".bw-brand").click()
    duo.wait_for_no_elements(".dash-dropdown-options", timeout=5)


def _pk(engine: Engine, ident: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(incident.c.id).where(incident.c.incident_id == ident))
                   .scalar_one())


def test_empty_warehouse_renders_the_map_shell(start_app: Any, engine: Engine) -> None:
    """A fresh, empty warehouse: the shell, the map container and zero counts, no errors."""
    duo = start_app(engine)
    _open(duo, "")
    assert _text(duo, ".bw-brand") == "borderwatch"
    assert "Situation map" in _text(duo, ".bw-nav")
    until(lambda: _text(duo, "#situation-total") == "0", 10)
    until(lambda: _text(duo, "#situation-in-view") == "0", 10)
    assert "No incidents match" in _text(duo, "#situation-feed")
    assert duo.find_element(".bw-map .leaflet-control-layers")
    assert console_errors(duo) == []


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_map_renders_every_layer_with_features(start_app: Any, demo_engine: Engine) -> None:
    """On the shipped geodata and a small demo: every layer draws all its features."""
    engine = demo_engine
    countries = _scalar(engine, "SELECT count(*) FROM country")
    sections = _scalar(engine, "SELECT count(*) FROM border_section")
    labelled = _scalar(engine, "SELECT count(*) FROM border_section s LEFT JOIN "
                       "section_impact_suggestion g USING (section_id) WHERE s.impact_level <> "
                       "'low' OR g.level <> s.impact_level")
    bcps = _scalar(engine, "SELECT count(*) FROM bcp")
    joint = _scalar(engine, "SELECT count(*) FROM bcp WHERE joint_control OR one_stop")
    areas = _scalar(engine, "SELECT count(*) FROM joint_patrol_area")
    incidents = _scalar(engine, "SELECT count(*) FROM incident")
    assert min(countries, sections, bcps, areas, incidents) > 0

    duo = start_app(engine)
    _open(duo, "?lat=42.60000&lon=21.00000&z=6"
          "&layers=sections,bcps,incidents,hotspots,density,patrol")

    def count(selector: str) -> int:
        return len(duo.find_elements(selector))

    until(lambda: count(".leaflet-bw-basemap-pane path") == countries, 15)
    labels = {e.text.lower() for e in duo.find_elements(".bw-country-label")}
    assert {"serbia", "albania", "kosovo*"} <= labels
    until(lambda: count(".leaflet-bw-sections-pane path") == sections, 10)
    assert count(".bw-section-label") == labelled
    until(lambda: count(".leaflet-bw-bcps-pane .bw-bcp") == bcps, 10)
    assert count(".leaflet-bw-bcps-pane .bw-bcp-joint") == joint
    until(lambda: count(".leaflet-bw-patrol-pane path") == areas, 10)
    assert count(".bw-patrol-label") == areas
    assert all(" km" in e.text and "–" in e.text for e in duo.find_elements(".bw-patrol-label"))
    until(lambda: _text(duo, "#situation-total") == f"{incidents:,}", 15)
    until(lambda: _on_map(duo) > 0 and _text(duo, "#situation-in-view") == f"{_on_map(duo):,}",
          10, msg=lambda: f"in view {_text(duo, '#situation-in-view')} on map {_on_map(duo)}")
    until(lambda: count(".leaflet-bw-density-pane path") > 0, 10)
    until(lambda: count(".leaflet-bw-hotspots-pane path") > 0, 10)  # the demo load computes it
    legend = _text(duo, ".bw-legend")
    for word in ("CRITICAL impact", "Joint controls / one-stop", "Cross-border crime"):
        assert word in legend
    until(lambda: "incident" in _text(duo, "#situation-legend-density"), 10)
    assert "Hot spot, 99 % confidence" in _text(duo, "#situation-legend-gistar")
    screenshot(duo, "situation-demo")
    assert console_errors(duo) == []


def test_filter_changes_count_shown_and_on_map(
    start_app: Any, seeded_rows: list[dict], engine: Engine
) -> None:
    duo = start_app(engine, statement_timeout_ms=1000)
    _open(duo, f"?{REGION}")
    _count_equals(duo, len(seeded_rows))

    _choose(duo, "#situation-cat", "Crisis situation")
    crisis = sum(1 for r in seeded_rows if r["category"] == "crisis")
    assert 0 < crisis < len(seeded_rows)
    _count_equals(duo, crisis)
    until(lambda: "cat=crisis" in duo.driver.current_url, 5)
    screenshot(duo, "situation-filtered")

    # A query that hits the statement time limit becomes a safe message on the page.
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE incident IN ACCESS EXCLUSIVE MODE"))
        _choose(duo, "#situation-cat", "Other")
        duo.wait_for_contains_text("#app-alert-text", "took too long", timeout=20)
        conn.rollback()
    message = _text(duo, "#app-alert")
    for leak in ("postgres", "Traceback", str(engine.url.port), "SELECT"):
        assert leak not in message
    screenshot(duo, "situation-timeout-message")
    assert console_errors(duo) == []


def test_clicking_an_incident_opens_details_and_syncs_the_feed(
    start_app: Any, seeded_rows: list[dict], engine: Engine
) -> None:
    lone = incident_row(
        ident="LONE-1", lon=20.5, lat=44.0, occurred_at=datetime.now(UTC) - timedelta(hours=1),
        category="cross_border_crime", subtype="drugs", persons=3, description="Lone test event",
    )
    insert_incidents(engine, [lone])
    pk = _pk(engine, "LONE-1")
    duo = start_app(engine)
    _open(duo, "?lat=44.00000&lon=20.50000&z=11")

    duo.wait_for_element(".leaflet-bw-incidents-pane path.bw-incident", timeout=15).click()
    duo.wait_for_contains_text("#situation-detail-body", "Incident LONE-1", timeout=10)
    details = _text(duo, "#situation-detail-body")
    for value in ("drugs", "Lone test event", lone["section_id"], "Cross-border crime", "44.00000"):
        assert value in details
    duo.wait_for_contains_class(f'.bw-feed-item[data-incident="{pk}"]', "is-selected", 10)
    screenshot(duo, "situation-incident-details")

    # Feed -> map: another incident from the list; the map flies to it and shows its details.
    other = next(e for e in duo.find_elements(".bw-feed-item")
                 if e.get_attribute("data-incident") != str(pk))
    other_pk = int(other.get_attribute("data-incident"))
    other.click()
    with engine.connect() as conn:
        ident, lon, lat = conn.execute(
            select(incident.c.incident_id, incident.c.geom.ST_X(), incident.c.geom.ST_Y())
            .where(incident.c.id == other_pk)).one()
    duo.wait_for_contains_text("#situation-detail-body", f"Incident {ident}", timeout=10)
    duo.wait_for_contains_class(f'.bw-feed-item[data-incident="{other_pk}"]', "is-selected", 10)

    def centred_on_it() -> bool:
        query = parse_qs(urlsplit(duo.driver.current_url).query)
        return (
            query.get("sel") == [str(other_pk)]
            and abs(float(query["lat"][0]) - lat) < 0.01
            and abs(float(query["lon"][0]) - lon) < 0.01
        )

    until(centred_on_it, 10, msg=lambda: duo.driver.current_url)
    assert len(duo.find_elements(".leaflet-bw-selected-pane .bw-selected")) == 1
    assert console_errors(duo) == []


def test_url_with_view_state_reproduces_the_view(
    start_app: Any, seeded_rows: list[dict], engine: Engine
) -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=30)
    query = (
        f"?from={start.isoformat()}&to={today.isoformat()}&cat=crisis,other&pair=HR-RS"
        "&lat=45.40000&lon=18.20000&z=8&layers=sections,incidents,density&live=1"
    )
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    expected = sum(
        1 for r in seeded_rows
        if r["category"] in ("crisis", "other") and r["section_id"].startswith("HR-RS")
        and r["occurred_at"] >= since
    )
    duo = start_app(engine)
    _open(duo, query)
    until(lambda: _text(duo, "#situation-total") == f"{expected:,}", 15)
    assert _text(duo, "#situation-dates") == f"{start.isoformat()} – {today.isoformat()} (31 days)"
    categories = _text(duo, "#situation-cat")
    assert "Crisis situation" in categories and "2 selected" in categories
    assert "HR-RS" in _text(duo, "#situation-pair")
    assert duo.find_element("#situation-live input").is_selected()
    checked = {
        e.text.strip()
        for e in duo.find_elements(".leaflet-control-layers-overlays label")
        if e.find_element("css selector", "input").is_selected()
    }
    assert checked == {"Border sections (impact level)", "Incidents", "Incident density (H3)"}
    # The page writes the URL back from the map's real centre and zoom: same view, same link.
    until(lambda: urlsplit(duo.driver.current_url).query == query[1:], 10,
          msg=lambda: duo.driver.current_url)
    screenshot(duo, "situation-from-url")
    assert console_errors(duo) == []


def test_auto_refresh_shows_a_new_incident_without_reload(
    start_app: Any, seeded_rows: list[dict], engine: Engine
) -> None:
    duo = start_app(engine, refresh_interval_s=2)
    _open(duo, f"?{REGION}&live=1")
    _count_equals(duo, len(seeded_rows))
    duo.driver.execute_script("window.__bwSamePage = true;")

    insert_incidents(engine, [incident_row(
        ident="NEW-1", lon=18.3, lat=45.9, occurred_at=datetime.now(UTC),
        category="crisis", subtype="flood")])
    pk = _pk(engine, "NEW-1")
    duo.wait_for_text_to_equal("#situation-new-count", "1 new", timeout=15)
    _count_equals(duo, len(seeded_rows) + 1)
    first = duo.find_elements(".bw-feed-item")[0]
    assert first.get_attribute("data-incident") == str(pk) and "NEW" in first.text
    until(lambda: len(duo.find_elements(".leaflet-bw-new-pane .bw-new")) == 1, 10)
    assert duo.driver.execute_script("return window.__bwSamePage === true;")
    screenshot(duo, "situation-live-new-incident")
    assert console_errors(duo) == []


def _view(duo: Any) -> tuple[float, float, int]:
    """Centre and zoom of the map, as the page writes them into the URL."""
    query = parse_qs(urlsplit(duo.driver.current_url).query)
    return float(query["lat"][0]), float(query["lon"][0]), int(query["z"][0])


def _map_pane(duo: Any) -> str:
    return str(duo.driver.execute_script(
        "return document.querySelector('.bw-map .leaflet-map-pane').style.transform;"))


def test_choosing_a_border_pair_flies_the_map_to_it(start_app: Any, geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        south, west, north, east = conn.execute(text(
            "SELECT ST_YMin(geom), ST_XMin(geom), ST_YMax(geom), ST_XMax(geom) "
            "FROM border_line WHERE pair_id = 'HR-RS'")).one()
    duo = start_app(geo_engine)
    _open(duo, "?lat=42.00000&lon=26.00000&z=5")
    until(lambda: len(duo.find_elements(".leaflet-bw-sections-pane path")) > 0, 15)
    lat0, lon0, zoom0 = _view(duo)
    assert not (south <= lat0 <= north and west <= lon0 <= east)

    _choose(duo, "#situation-pair", "Croatia – Serbia (HR-RS)")

    def over_the_pair() -> bool:
        query = parse_qs(urlsplit(duo.driver.current_url).query)
        lat, lon, zoom = _view(duo)
        return (query.get("pair") == ["HR-RS"] and zoom > zoom0
                and south <= lat <= north and west <= lon <= east)

    until(over_the_pair, 10, msg=lambda: f"{duo.driver.current_url} not over {south, west, north, east}")
    screenshot(duo, "situation-fit-pair")
    assert console_errors(duo) == []

    # A link with a pair and its own centre/zoom keeps that view: only a user change flies.
    link = "?pair=HR-RS&lat=43.50000&lon=21.00000&z=7"
    _open(duo, link)
    until(lambda: len(duo.find_elements(".leaflet-bw-sections-pane path")) > 0, 15)
    until(duo._wait_for_callbacks, 10)
    pane = _map_pane(duo)
    for _ in range(8):  # longer than a flight would take to move the map
        assert _view(duo) == (43.5, 21.0, 7), duo.driver.current_url
        assert _map_pane(duo) == pane
        time.sleep(0.25)
    assert "HR-RS" in _text(duo, "#situation-pair")
    assert console_errors(duo) == []
