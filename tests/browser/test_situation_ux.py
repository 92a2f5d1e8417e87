"""The situation map's small things, in a real headless Chromium: labels, layer order, legend,
playback (run with --headless)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from sqlalchemy import Engine, text

from dashboard.components.situation_map import PANES
from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser

VISIBLE_LABELS_JS = """
return Array.from(document.querySelectorAll('.leaflet-tooltip.bw-section-label'))
  .filter(e => !e.classList.contains('is-cluttered'))
  .map(e => { const r = e.getBoundingClientRect();
              return [r.left, r.top, r.right, r.bottom]; });
"""

ON_LINE_JS = """
const out = [];
for (const p of document.querySelectorAll('.leaflet-bw-sections-pane path.leaflet-interactive')) {
  if (p.getAttribute('stroke') !== arguments[0]) { continue; }
  const len = p.getTotalLength(), m = p.getScreenCTM();
  for (let k = 1; k < 40; k++) {
    const pt = p.getPointAtLength(len * k / 40);
    const x = pt.x * m.a + pt.y * m.c + m.e, y = pt.x * m.b + pt.y * m.d + m.f;
    if (document.elementFromPoint(x, y) === p) { out.push([x, y]); break; }
  }
}
return out;
"""


def _open(duo: Any, query: str) -> None:
    duo.wait_for_page(f"{duo.server_url}/{query}")
    duo.wait_for_element(".bw-map.leaflet-container", timeout=15)


def _overlaps(rects: list[list[float]]) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(rects) for j, b in enumerate(rects[:i])
            if a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]]


def test_section_labels_do_not_overlap_at_regional_zoom(start_app: Any, demo_engine: Engine) -> None:
    """A tense day: every section of the western borders raised. At regional zoom their labels
    (one per 50 km section) used to pile on top of each other."""
    with demo_engine.begin() as conn:
        conn.execute(text("UPDATE border_section SET impact_level = 'medium', impact_reason = 'test' "
                          "WHERE impact_level = 'low' AND ST_X(ST_Centroid(geom)) < 23"))
        labelled = int(conn.execute(text(
            "SELECT count(*) FROM border_section WHERE impact_level <> 'low'")).scalar_one())
    assert labelled > 30
    duo = start_app(demo_engine)
    _open(duo, "?lat=42.60000&lon=21.00000&z=6&layers=sections,bcps")
    until(lambda: len(duo.find_elements(".leaflet-tooltip.bw-section-label")) == labelled, 15)
    hidden = ".leaflet-tooltip.bw-section-label.is-cluttered"
    until(lambda: len(duo.find_elements(hidden)) > 0, 5, msg="labels at regional zoom never overlap?")
    shown = duo.driver.execute_script(VISIBLE_LABELS_JS)
    assert shown and _overlaps(shown) == []
    screenshot(duo, "situation-labels-regional")
    # zoomed in, labels that had to give way come back
    _open(duo, "?lat=45.00000&lon=19.00000&z=9&layers=sections,bcps")
    until(lambda: len(duo.find_elements(".leaflet-tooltip.bw-section-label")) > 0, 15)
    until(lambda: _overlaps(duo.driver.execute_script(VISIBLE_LABELS_JS)) == [], 5)
    assert console_errors(duo) == []


def test_clusters_lie_under_sections_and_bcps_and_tooltips_over_everything(
    start_app: Any, demo_engine: Engine
) -> None:
    with demo_engine.begin() as conn:
        conn.execute(text("UPDATE border_section SET impact_level = 'high', impact_reason = 'Test reason' "
                          "WHERE pair_id = 'HR-RS'"))
    duo = start_app(demo_engine)
    _open(duo, "?lat=45.20000&lon=19.20000&z=8&layers=sections,bcps,incidents")
    until(lambda: len(duo.find_elements(".leaflet-tooltip.bw-section-label.bw-impact-high")) > 0, 15)

    def z(pane: str) -> int:
        return int(duo.driver.execute_script(
            f"return getComputedStyle(document.querySelector('.leaflet-{pane}')).zIndex;"))

    assert z("bw-incidents-pane") < z("bw-sections-pane") < z("bw-labels-pane") < z("bw-bcps-pane")
    assert z("bw-bcps-pane") < z("tooltip-pane") == 650
    assert PANES["bw-bcps"] < 650
    # a point on a high section's line that the mouse reaches (dashes leave gaps)
    spots = duo.driver.execute_script(ON_LINE_JS, "#E65100")
    assert spots, "no high section reachable in view"
    hover = ActionBuilder(duo.driver)
    hover.pointer_action.move_to_location(int(spots[0][0]), int(spots[0][1]))
    hover.perform()
    until(lambda: len(duo.find_elements(".leaflet-tooltip-pane .bw-section-tip")) == 1, 5,
          msg="hovering a section opens its attribution in the tooltip pane")
    # Leaflet fades a tooltip in: until it is visible, WebDriver reads its text as ''
    until(lambda: "Test reason" in duo.find_element(".leaflet-tooltip-pane .bw-section-tip").text,
          5, msg="the section's tooltip shows its impact reason")
    screenshot(duo, "situation-section-tooltip")
    assert console_errors(duo) == []


def test_the_legend_is_folded_on_small_screens(start_app: Any, engine: Engine) -> None:
    duo = start_app(engine)
    _open(duo, "")
    until(lambda: duo.find_element("#situation-legend").get_attribute("open") is not None, 5)
    duo.driver.set_window_size(1024, 700)
    _open(duo, "")
    until(lambda: duo.find_element("#situation-legend").get_attribute("open") is None, 5,
          msg="the legend covers a quarter of a small map")
    legend = duo.find_element("#situation-legend").rect
    area = duo.find_element(".bw-map").rect
    assert legend["width"] * legend["height"] < 0.05 * area["width"] * area["height"]
    screenshot(duo, "situation-legend-small-screen")
    duo.find_element("#situation-legend summary").click()
    until(lambda: duo.find_element("#situation-legend").get_attribute("open") is not None, 5)
    assert "Cross-border crime" in duo.find_element("#situation-legend").text
    assert console_errors(duo) == []


def test_pause_gives_the_chosen_range_back(start_app: Any, seeded_rows: list[dict], engine: Engine) -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=40)
    duo = start_app(engine)
    _open(duo, f"?from={start.isoformat()}&to={today.isoformat()}&lat=44.80000&lon=17.60000&z=7")
    chosen = f"{start.isoformat()} – {today.isoformat()} (41 days)"
    duo.wait_for_text_to_equal("#situation-dates", chosen, timeout=10)
    duo.find_element("#situation-play").click()
    until(lambda: "(7 days)" in duo.find_element("#situation-dates").text, 10, msg="no playback frame")
    assert duo.find_element("#situation-dates").text.startswith(start.isoformat())
    duo.find_element("#situation-play").click()  # pause
    duo.wait_for_text_to_equal("#situation-dates", chosen, timeout=10)
    assert "Play" in duo.find_element("#situation-play").text
    until(lambda: parse_qs(urlsplit(duo.driver.current_url).query).get("from") == [start.isoformat()], 10)
    assert parse_qs(urlsplit(duo.driver.current_url).query)["to"] == [today.isoformat()]
    screenshot(duo, "situation-playback-paused")
    assert console_errors(duo) == []
