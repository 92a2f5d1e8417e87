"""The crossing page in a real headless Chromium against a real PostGIS (run with --headless):
map -> click a BCP where incidents are stacked -> its page with every section filled -> a CSV
checked against the database; the search box."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.wait import until
from sqlalchemy import Engine, text

from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser

SECTIONS = ("flows", "waits", "mirror", "incidents", "risk")
FETCH_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.text().then(t => done([r.status, r.headers.get('content-type'), t])))
  .catch(e => done([0, '', String(e)]));
"""
TRACES_JS = """
const plot = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!plot || !plot.data) { return -1; }
const filled = y => !y ? false : (y.bdata !== undefined ? y.bdata.length > 0
  : Array.from(y).some(v => v !== null && !Number.isNaN(v)));
return plot.data.filter(t => filled(t.y)).length;
"""


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def _stacked_bcp(engine: Engine) -> tuple[str, str, str, float, float, date, date]:
    """The road crossing with the most incidents placed at it by code, and the demo's period."""
    first, last = _rows(engine, "SELECT min(occurred_at)::date, max(occurred_at)::date "
                                "FROM incident")[0]
    code, name_a, name_b, lon, lat = _rows(engine, """
        SELECT b.code, b.name_a, b.name_b, ST_X(b.geom), ST_Y(b.geom) FROM incident i
        JOIN bcp b ON b.code = i.nearest_bcp
        WHERE i.nearest_bcp_m < 1 AND b.mode = 'road'
          AND b.country_b NOT IN ('SY', 'IQ', 'IR')
        GROUP BY b.code ORDER BY count(*) DESC, b.code LIMIT 1""")[0]
    return code, name_a, name_b, float(lon), float(lat), first, last


def _text(duo: Any, selector: str) -> str:
    return str(duo.find_element(selector).text)


def test_map_to_a_stacked_bcp_to_its_page_with_every_section_and_a_csv(
    start_app: Any, demo_engine: Engine
) -> None:
    engine = demo_engine
    code, name_a, name_b, lon, lat, first, last = _stacked_bcp(engine)
    placed = _rows(engine, "SELECT count(*) FROM incident WHERE nearest_bcp = :c "
                           "AND nearest_bcp_m < 1", c=code)[0][0]
    assert placed >= 2, "the demo stacks incidents at its busiest crossings"
    duo = start_app(engine)
    duo.driver.set_window_size(1400, 1000)
    period = f"from={first.isoformat()}&to={last.isoformat()}"
    duo.wait_for_page(f"{duo.server_url}/?{period}&lat={lat:.5f}&lon={lon:.5f}&z=15"
                      "&layers=sections,bcps,incidents")
    marker = f'.leaflet-bw-bcps-pane span[data-bcp="{code}"]'
    duo.wait_for_element(marker, timeout=20)

    # the stack is a count on the BCP, not dots on top of it
    badge = f'.bw-bcp-badge span[data-bcp="{code}"]'
    until(lambda: bool(duo.find_elements(badge)), 20, msg="no badge on the BCP")
    assert int(duo.find_element(badge).get_attribute("data-count")) == placed
    assert not duo.driver.execute_script("""
        const [x, y] = arguments;
        return document.querySelectorAll('.leaflet-bw-incidents-pane .bw-incident').length &&
          Array.from(document.querySelectorAll('.leaflet-bw-incidents-pane path.bw-incident'))
            .some(p => { const r = p.getBoundingClientRect();
                         return Math.abs(r.x + r.width / 2 - x) < 3
                             && Math.abs(r.y + r.height / 2 - y) < 3; });
    """, *_centre(duo, marker))
    screenshot(duo, "crossing-map-badge")

    # a click on the BCP opens its page (a real click: nothing may cover the marker)
    duo.find_element(marker).click()
    until(lambda: urlsplit(duo.driver.current_url).path == f"/bcp/{code}", 15,
          msg=lambda: duo.driver.current_url)
    query = parse_qs(urlsplit(duo.driver.current_url).query)
    assert query["from"] == [first.isoformat()] and query["to"] == [last.isoformat()]
    duo.wait_for_contains_text(".bw-crossing-head h1", name_a, timeout=40)
    assert name_b in _text(duo, ".bw-crossing-head h1")

    # every section filled
    head = _text(duo, ".bw-crossing-head")
    for label in ("COUNTRIES", "MODE", "CONTROLS", "COORDINATES", "BORDER SECTION",
                  "JOINT PATROL AREAS", "PEERS", "FLOWS REPORTED BY"):
        assert label in head.upper(), label
    section_id = _rows(engine, """
        SELECT s.section_id FROM border_section s, bcp b WHERE b.code = :c
          AND s.pair_id = least(b.country_a, b.country_b) || '-' || greatest(b.country_a, b.country_b)
        ORDER BY s.geom <-> b.geom LIMIT 1""", c=code)[0][0]
    assert section_id in head
    for graph in ("bcp-flows-graph", "bcp-waits-graph", "bcp-mirror-graph",
                  "bcp-incidents-graph", "bcp-risk-graph"):
        until(lambda g=graph: duo.driver.execute_script(TRACES_JS, g) > 0, 40,
              msg=lambda g=graph: f"{g} has no data")
    assert "robust" in _text(duo, "#bcp-method") and "STL" in _text(duo, "#bcp-method")
    until(lambda: len(duo.find_elements("#bcp-waits-table tbody tr")) == 6, 20)
    assert "Flagged" in _text(duo, "#bcp-mirror-note")

    radius_km = 10.0
    expected = _rows(engine, """
        SELECT count(*) FROM incident i, bcp b WHERE b.code = :c
          AND ST_DWithin(i.geom::geography, b.geom::geography, :m)
          AND i.occurred_at >= :f AND i.occurred_at < :t""",
                     c=code, m=radius_km * 1000, f=first, t=last + timedelta(days=1))[0][0]
    until(lambda: _text(duo, "#bcp-incidents-total").startswith(f"{expected:,} incidents within"), 20,
          msg=lambda: _text(duo, "#bcp-incidents-total"))
    until(lambda: len(duo.find_elements("#bcp-incidents-table tbody tr")) == min(expected, 200), 20)
    assert sum("yes" in r.text for r in duo.find_elements("#bcp-incidents-table tbody tr")) >= min(
        placed, 1)
    until(lambda: len(duo.find_elements("#bcp-map .bw-incident")) == min(expected, 500), 20)
    peers = _rows(engine, """
        SELECT count(*) FROM bcp p, bcp b WHERE b.code = :c AND p.code <> b.code
          AND p.mode = b.mode AND least(p.country_a, p.country_b) = least(b.country_a, b.country_b)
          AND greatest(p.country_a, p.country_b) = greatest(b.country_a, b.country_b)""", c=code)[0][0]
    until(lambda: len(duo.find_elements("#bcp-risk-table tbody tr")) == 1 + peers, 20)
    for name in SECTIONS:
        assert duo.find_elements(f"#bcp-{name}-csv a.bw-csv"), name
    duo.driver.set_window_size(1400, 5200)
    until(lambda: duo.driver.execute_script(TRACES_JS, "bcp-risk-graph") > 0, 10)
    screenshot(duo, "crossing-page")
    duo.driver.set_window_size(1400, 1000)

    # a CSV, downloaded from the page's own link, holds what the database holds
    href = duo.find_element("#bcp-csv-flows").get_attribute("href")
    status, kind, body = duo.driver.execute_async_script(FETCH_JS, href)
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    side = parse_qs(urlsplit(href).query).get("side", [None])[0] or _rows(
        engine, "SELECT country_a FROM bcp WHERE code = :c", c=code)[0][0]
    stored = {(d.isoformat(), r, c): n for d, r, c, n in _rows(engine, """
        SELECT date, direction, category, count FROM flow WHERE bcp_code = :c
          AND reporting_country = :s AND date BETWEEN :f AND :t""",
        c=code, s=side, f=first, t=last)}
    got = {(r["date"], r["direction"], r["category"]): int(r["count"]) for r in rows if r["count"]}
    assert got == stored and len(got) > 100
    assert {r["reporting_country"] for r in rows} == {side}
    assert console_errors(duo) == []


def _centre(duo: Any, selector: str) -> tuple[float, float]:
    rect = duo.driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return [r.x + r.width / 2, r.y + r.height / 2];", selector)
    return float(rect[0]), float(rect[1])


def _type_in(duo: Any, selector: str, words: str) -> None:
    """Open a dropdown and type into its search field."""
    duo.wait_for_element(selector, timeout=15).click()
    duo.wait_for_element(".dash-dropdown-options", timeout=5)
    duo.driver.switch_to.active_element.send_keys(words)


def test_search_finds_a_crossing_without_accents_and_opens_it(
    start_app: Any, geo_engine: Engine
) -> None:
    duo = start_app(geo_engine)
    duo.wait_for_page(f"{duo.server_url}/?lat=45.00000&lon=20.00000&z=6")
    _type_in(duo, "#situation-search", "Horgos")
    until(lambda: any("Horgoš" in e.text for e in duo.find_elements(".dash-dropdown-option")), 10,
          msg=lambda: [e.text for e in duo.find_elements(".dash-dropdown-option")])
    options = [e for e in duo.find_elements(".dash-dropdown-option") if "Horgoš" in e.text]
    options[0].click()
    until(lambda: urlsplit(duo.driver.current_url).path == "/bcp/RS-HU-HORGOS", 15,
          msg=lambda: duo.driver.current_url)
    duo.wait_for_contains_text(".bw-crossing-head h1", "Horgoš", timeout=20)

    # by E-road, then a code that is no BCP: a clear page, and the search still works
    duo.wait_for_page(f"{duo.server_url}/bcp/XX-NOWHERE")
    duo.wait_for_contains_text(".bw-crossing h1", "No such crossing point", timeout=15)
    _type_in(duo, "#bcp-search", "kapikule")
    until(lambda: any("Kapıkule" in e.text for e in duo.find_elements(".dash-dropdown-option")),
          10)
    assert console_errors(duo) == []
