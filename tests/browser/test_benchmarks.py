"""The benchmarks page in a real headless Chromium against a real PostGIS (run with --headless):
change the round, see the scorecard change, open a country, download the briefing pack."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.wait import until
from sqlalchemy import Engine

from tests.browser.conftest import console_errors, screenshot
from tests.support import query_rows

pytestmark = pytest.mark.browser

LEVELS_JS = """
return Array.from(document.querySelectorAll('#bench-scorecard tr[data-country]')).map(
  tr => tr.getAttribute('data-country') + ':' + Array.from(tr.querySelectorAll('td[data-level]'))
        .map(td => td.getAttribute('data-component') + '=' + td.getAttribute('data-level'))
        .join(',')).join(';');
"""


def _text(duo: Any, selector: str) -> str:
    return str(duo.find_element(selector).text)


def _levels_in_db(engine: Engine, round_label: str) -> str:
    """The scorecard as the page should show it: country:component=level, in page order."""
    rows = query_rows(engine, """
        SELECT c.iso2, string_agg(b.component_id || '=' || b.level, ',' ORDER BY k.ordering)
        FROM country c JOIN benchmark_assessment b ON b.country = c.iso2 AND b.round = :r
        JOIN ibm_component k ON k.component_id = b.component_id
        WHERE c.is_target GROUP BY c.iso2, c.name ORDER BY c.name""", r=round_label)
    return ";".join(f"{iso2}:{levels}" for iso2, levels in rows)


def _query(duo: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(duo.driver.current_url).query)


def test_round_scorecard_country_and_briefing(start_app: Any, demo_engine: Engine) -> None:
    engine = demo_engine
    duo = start_app(engine)
    duo.wait_for_page(f"{duo.server_url}/benchmarks?round=2020")
    duo.wait_for_text_to_equal("#bench-scorecard-title", "Scorecard, round 2020", timeout=20)
    until(lambda: duo.driver.execute_script(LEVELS_JS) == _levels_in_db(engine, "2020"), 10,
          msg=lambda: "scorecard of 2020 differs from the warehouse")
    cells = duo.find_elements("#bench-scorecard td[data-level]")
    assert len(cells) == 8 * 15
    assert all(c.text.split("\n")[0] in ("Not in place", "Initiated", "Partially implemented",
                                         "Implemented and monitored") for c in cells)
    assert "Kosovo*" in _text(duo, "#bench-scorecard") and "UNSCR 1244" in _text(duo, ".bw-footnote")
    legend = " ".join(e.text for e in duo.find_elements("#bench-map .legendtext"))
    assert "Partially implemented" in legend and "Implemented and monitored" in legend
    duo.driver.set_window_size(1400, 1500)
    time.sleep(0.5)
    screenshot(duo, "benchmarks-2020")
    duo.driver.set_window_size(1400, 900)

    # change the round: the scorecard follows the warehouse, and the URL keeps the round
    before = duo.driver.execute_script(LEVELS_JS)
    duo.select_dcc_dropdown("#bench-round", value="2025")
    duo.wait_for_text_to_equal("#bench-scorecard-title", "Scorecard, round 2025", timeout=15)
    expected = _levels_in_db(engine, "2025")
    until(lambda: duo.driver.execute_script(LEVELS_JS) == expected, 10,
          msg=lambda: "scorecard of 2025 differs from the warehouse")
    assert expected != before
    until(lambda: _query(duo).get("round") == ["2025"], 5)

    # open a country from the scorecard: drill-down, recommendations, strategies, URL
    duo.find_element("#bench-scorecard tr[data-country='RS'] button").click()
    duo.wait_for_text_to_equal("#bench-drill-title", "Serbia", timeout=15)
    until(lambda: _query(duo).get("country") == ["RS"], 5)
    recs = query_rows(engine, "SELECT count(*) FROM benchmark_assessment WHERE country = 'RS' "
                              "AND round = '2025' AND coalesce(recommendation, '') <> ''")[0][0]
    until(lambda: len(duo.find_elements("#bench-recs tbody tr")) == recs, 10)
    incidents_rs = query_rows(
        engine, "SELECT count(*) FROM incident WHERE country = 'RS' AND occurred_at >= "
                "CAST(:a AS date) AND occurred_at < CAST(:b AS date) + 1",
        a=_query(duo)["from"][0], b=_query(duo)["to"][0])[0][0]
    assert f"All incidents {incidents_rs:,}" in _text(duo, "#bench-figures")
    duo.wait_for_element("#bench-strategies .bars, #bench-strategies .barlayer", timeout=10)
    duo.driver.execute_script(
        "document.getElementById('bench-drill').scrollIntoView({block: 'start'});")
    time.sleep(0.5)
    screenshot(duo, "benchmarks-serbia")

    # the briefing pack: the page says it is working, then the PDF arrives as a download
    download = Path(duo.download_path)
    duo.find_element("#bench-briefing").click()
    until(lambda: _text(duo, "#bench-briefing-status") == "Generating the briefing pack…"
          and duo.find_element("#bench-briefing").get_attribute("disabled"), 10,
          msg="the page does not say that the briefing is being generated")
    until(lambda: list(download.glob("*.pdf")), 90, msg="no briefing PDF was downloaded")
    duo.wait_for_contains_text("#bench-briefing-status", "Briefing ready", timeout=30)
    pdf = next(download.glob("*.pdf"))
    until(lambda: pdf.stat().st_size > 10_000 and not list(download.glob("*.crdownload")), 30)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Briefing pack: Western Balkans and Türkiye" in text
    for name in ("Serbia", "Kosovo*", "Türkiye", "IBM scorecard, round 2025"):
        assert name in text
    assert console_errors(duo) == []


def test_bad_link_is_named_and_defaults_apply(start_app: Any, demo_engine: Engine) -> None:
    duo = start_app(demo_engine)
    duo.wait_for_page(f"{duo.server_url}/benchmarks?round=1999&country=ZZ&from=yesterday")
    duo.wait_for_contains_text(".bw-bench .bw-alert", "Ignored unreadable link parameters: from=yesterday, "
                                            "round=1999, country=ZZ.", timeout=15)
    duo.wait_for_text_to_equal("#bench-scorecard-title", "Scorecard, round 2025", timeout=15)
    assert _text(duo, "#bench-drill-title") == "Choose an administration"
    assert console_errors(duo) == []


def test_empty_warehouse_says_what_to_load(start_app: Any, engine: Engine) -> None:
    duo = start_app(engine)
    duo.wait_for_page(f"{duo.server_url}/benchmarks")
    duo.wait_for_contains_text(".bw-bench .bw-alert", "No benchmark assessment is loaded yet", timeout=15)
    assert console_errors(duo) == []
