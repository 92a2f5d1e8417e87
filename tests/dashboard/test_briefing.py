"""The forum briefing pack: generated from a known dataset, read back with ``pdftotext``, and
checked against what the warehouse says, country by country."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from dashboard.briefing import BriefingRequest, build_briefing, operator_scope
from dashboard.cli import cli_group
from dashboard.components.palette import CATEGORY_LABELS
from dashboard.viewstate import Filters
from etl.demo.generate import DemoSpec
from etl.demo.load import load_demo
from tests.conftest import GEO_TEMPLATE, _fresh_engine, settings_for
from tests.support import query_rows

END = date(2025, 10, 31)
PERIOD = Filters(date(2025, 9, 1), END)
FLOW_LABELS = {"persons": "Persons", "cars": "Cars", "buses": "Buses", "trucks": "Trucks",
               "rail": "Trains"}


@pytest.fixture(scope="module")
def known(admin_url: str, geo_template_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Engine]:
    """The shipped geodata and a small fixed demo (2,500 incidents, 60 days to 2025-10-31),
    loaded through the real loaders once for the module."""
    for engine in _fresh_engine(admin_url, GEO_TEMPLATE):
        url = engine.url.render_as_string(hide_password=False)
        out = tmp_path_factory.mktemp("briefing_demo")
        spec = DemoSpec(incidents=2500, days=60, seed=5, end=END)
        load_demo(engine, settings_for(url, data_dir=out), spec, out_dir=out)
        yield engine


def _pages(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "briefing.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]


def _number(page: str, label: str) -> str:
    """The first number after ``label`` on its line."""
    found = re.search(re.escape(label) + r"\s+([\d,.]+)", page)
    assert found, f"{label!r} not found in:\n{page}"
    return found.group(1)


def test_every_country_page_has_the_warehouse_figures(known: Engine, tmp_path: Path) -> None:
    made = build_briefing(known, BriefingRequest(PERIOD, "2025", operator_scope()))
    pages = _pages(made.pdf, tmp_path)
    assert made.pages == len(pages) >= 1 + 1 + 1 + 8  # cover, region, scorecard, 8 countries
    for number, page in enumerate(pages, 1):
        assert "Period 2025-09-01 to 2025-10-31" in page and f"page {number}" in page
        assert "data last loaded" in page and "sharing level: national (full access)" in page
        assert "Illustrative demo data" in page

    admins = query_rows(known, "SELECT iso2, name FROM country WHERE is_target ORDER BY name")
    assert len(admins) == 8
    bounds = {"a": PERIOD.date_from, "b": PERIOD.date_to}
    for iso2, name in admins:
        page = next(p for p in pages[3:] if p.lstrip().startswith(name))
        counts = dict(query_rows(known, """
            SELECT category, count(*) FROM incident WHERE country = :c
            AND occurred_at >= :a AND occurred_at < CAST(:b AS date) + 1 GROUP BY category""",
                                 c=iso2, **bounds))
        assert sum(counts.values()) > 0, name
        for cat, label in CATEGORY_LABELS.items():
            assert _number(page, label) == f"{counts.get(cat, 0):,}", (name, cat)
        assert _number(page, "All incidents") == f"{sum(counts.values()):,}"

        flows = query_rows(known, """
            SELECT f.category, sum(f.count),
                   sum(f.wait_minutes_avg * f.count) FILTER (WHERE f.wait_minutes_avg IS NOT NULL)
                   / nullif(sum(f.count) FILTER (WHERE f.wait_minutes_avg IS NOT NULL), 0)
            FROM flow f JOIN bcp b ON b.code = f.bcp_code
            WHERE :c IN (b.country_a, b.country_b) AND f.date BETWEEN :a AND :b
            GROUP BY f.category""", c=iso2, **bounds)
        assert flows, name
        for cat, total, wait in flows:
            line = re.search(rf"{FLOW_LABELS[cat]}\s+([\d,]+)\s+(\S+)", page)
            assert line, (name, cat)
            assert line.group(1) == f"{int(total):,}", (name, cat)
            assert line.group(2) == ("—" if wait is None else f"{float(wait):.1f}"), (name, cat)

        (mean,), = query_rows(known, "SELECT round(avg(level), 2) FROM benchmark_assessment "
                                     "WHERE country = :c AND round = '2025'", c=iso2)
        assert f"Overall: mean level {float(mean):.2f}" in page, name
        assert "Filled dot: the level in this round" in page, name  # the levels chart

        (n, people), = query_rows(known, "SELECT count(*), coalesce(sum(participants), 0) FROM "
                                         "training WHERE country = :c AND date BETWEEN :a AND :b",
                                  c=iso2, **bounds)
        if n:
            assert f"Trainings in the period: {n:,}, participants: {people:,}." in page, name
        else:
            assert "No training in the period." in page, name

    regional = pages[1]
    assert regional.lstrip().startswith("Regional situation, 2025-09-01 to 2025-10-31")
    (total,), = query_rows(known, "SELECT count(*) FROM incident WHERE occurred_at >= :a "
                                  "AND occurred_at < CAST(:b AS date) + 1", **bounds)
    assert re.search(rf"\bAll\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+{total:,}\b", regional), regional
    scorecard = pages[2]
    assert "IBM scorecard, round 2025" in scorecard
    for _, name in admins:
        assert name in scorecard and name in pages[0]
    assert "UNSCR 1244" in pages[0]


def test_cli_writes_the_pack_and_refuses_bad_arguments(known: Engine, tmp_path: Path) -> None:
    env = {"BORDERWATCH_DATABASE_URL": known.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    out = tmp_path / "pack.pdf"
    runner = CliRunner()
    ok = runner.invoke(cli_group, ["briefing", "--out", str(out), "--from", "2025-10-01", "--to",
                                   "2025-10-31", "--round", "2020"], env=env)
    assert ok.exit_code == 0, ok.output
    assert out.read_bytes().startswith(b"%PDF") and "Briefing written to" in ok.output
    pages = _pages(out.read_bytes(), tmp_path)
    assert "IBM scorecard, round 2020" in pages[2]
    assert "Period 2025-10-01 to 2025-10-31" in pages[0]
    bad_round = runner.invoke(cli_group, ["briefing", "--out", str(out), "--round", "1999"], env=env)
    assert bad_round.exit_code == 2
    assert "unknown round '1999'; rounds loaded: 2009, 2010, 2011, 2015, 2020, 2025" in bad_round.output
    backwards = runner.invoke(cli_group, ["briefing", "--out", str(out), "--from", "2025-10-02",
                                          "--to", "2025-10-01"], env=env)
    assert backwards.exit_code == 2 and "--from must not be after --to" in backwards.output
    nowhere = runner.invoke(cli_group, ["briefing", "--out", str(tmp_path / "no" / "x.pdf")], env=env)
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.output
    assert "Traceback" not in bad_round.output + backwards.output + nowhere.output


def test_terminal_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.briefing.command import _Bar

    bar = _Bar()
    for done, label in enumerate(("framework and scorecard", "map layers", "Serbia")):
        bar(label, done, 15)
    bar.close()
    err = capsys.readouterr().err
    assert "briefing" in err and "2/15" in err and "Serbia" in err
