"""The forum briefing pack: generated from a known dataset, read back with ``pdftotext``, and
checked against what the warehouse says, country by country."""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image as PILImage
from sqlalchemy import Engine, text

from dashboard.briefing import BriefingRequest, build_briefing, operator_scope, reader_for
from dashboard.briefing.data import REGION
from dashboard.briefing.figures import SEA, TARGET_FILL
from dashboard.cli import cli_group
from dashboard.components.hotspots import CLASS_STYLE
from dashboard.components.layers import density_colors
from dashboard.components.palette import CATEGORY_LABELS
from dashboard.queries import gateway
from dashboard.queries.scope import Scope
from dashboard.viewstate import Filters
from etl.analytics import hotspot_job
from etl.analytics.hotspot_job import Request, run_hotspots
from etl.demo.generate import DemoSpec
from etl.demo.load import load_demo
from etl.errors import BorderwatchError
from tests.conftest import GEO_TEMPLATE, _admin, _fresh_engine, settings_for
from tests.support import query_rows

END = date(2025, 10, 31)
PERIOD = Filters(date(2025, 9, 1), END)
#: PDFs of the map tests, kept to look at (``pdftoppm -f 2 -l 2 -png``).
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
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
            WHERE f.reporting_country = :c AND :c IN (b.country_a, b.country_b)
              AND f.date BETWEEN :a AND :b
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


# -- the regional map's hotspots -----------------------------------------------------------------

#: The class colours of the situation map's hotspot layer, as the map in the PDF must use them.
GISTAR_COLOURS = {cls: color for cls, (color, _) in CLASS_STYLE.items() if cls != "not_significant"}


def _keep(pdf: bytes, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(pdf)


def _words(page: str) -> str:
    """A page's text with its line breaks and layout spaces folded (captions wrap)."""
    return " ".join(page.split())


def _map_image(pdf: bytes, tmp_path: Path) -> PILImage.Image:
    """The regional map as embedded in page 2 of the PDF (``pdfimages``: the image's own pixels)."""
    path = tmp_path / "map.pdf"
    path.write_bytes(pdf)
    out = tmp_path / "map-images"
    out.mkdir(exist_ok=True)
    subprocess.run(["pdfimages", "-png", "-f", "2", "-l", "2", str(path), str(out / "img")],
                   check=True)
    biggest = max(out.glob("img-*.png"), key=lambda p: p.stat().st_size)
    return PILImage.open(biggest).convert("RGB")


def _frame(img: PILImage.Image) -> tuple[float, float]:
    """Top and height of the map in the image: the map spans the image's width and keeps the
    region's aspect (1/cos of the mean latitude), centred in the figure's upper 88 %."""
    box = REGION
    ratio = 1.0 / math.cos(math.radians((box.south + box.north) / 2))
    width, height = img.size
    map_h = width * (box.north - box.south) * ratio / (box.east - box.west)
    return (0.88 * height - map_h) / 2, map_h


def _pixel(img: PILImage.Image, lon: float, lat: float) -> tuple[int, int]:
    """Where ``(lon, lat)`` falls on the map image."""
    box = REGION
    top, map_h = _frame(img)
    x = (lon - box.west) / (box.east - box.west) * img.width
    y = top + (box.north - lat) / (box.north - box.south) * map_h
    return int(x), int(y)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _class_of(rgb: tuple[int, int, int], tolerance: int = 16) -> str | None:
    """The Gi* class whose colour ``rgb`` is (within ``tolerance`` per channel: edges of
    neighbouring cells blend a little), or None."""
    for cls, color in GISTAR_COLOURS.items():
        want = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
        if max(abs(a - b) for a, b in zip(rgb, want, strict=True)) <= tolerance:
            return cls
    return None


def _legend_colours(img: PILImage.Image) -> set[str]:
    """The colours below the map's frame (the legend)."""
    top, map_h = _frame(img)
    below = img.crop((0, int(top + map_h) + 2, img.width, img.height))
    return {_hex(rgb) for _, rgb in below.getcolors(maxcolors=1 << 22)}


def _map_colours(img: PILImage.Image) -> set[str]:
    """The colours inside the map's frame (not the legend's swatches below it)."""
    top, map_h = _frame(img)
    inside = img.crop((0, math.ceil(top), img.width, int(top + map_h)))
    return {_hex(rgb) for _, rgb in inside.getcolors(maxcolors=1 << 22)}


def test_map_draws_the_gistar_classes_of_the_current_analysis(known: Engine, tmp_path: Path
                                                              ) -> None:
    made = build_briefing(known, BriefingRequest(PERIOD, "2025", operator_scope()))
    _keep(made.pdf, "briefing-map-gistar.pdf")
    regional = _words(_pages(made.pdf, tmp_path)[1])
    (first, last, computed, resolution), = query_rows(known, """
        SELECT period_from, period_to, computed_at, resolution FROM hotspot_analysis
        ORDER BY analysis_id DESC LIMIT 1""")
    rows = query_rows(known, """
        SELECT c.cell, c.lon, c.lat, c.class FROM hotspot_cell c
        WHERE c.analysis_id = (SELECT max(analysis_id) FROM hotspot_analysis)
          AND c.class <> 'not_significant'""")
    assert rows, "the demo's analysis has significant cells"
    assert (f"Hotspots: Getis-Ord Gi* classes of the current hotspot analysis over {first} to "
            f"{last}") in regional
    assert f"H3 cells of resolution {resolution}" in regional
    assert f"Computed {computed.astimezone(UTC):%Y-%m-%d %H:%M} UTC, less than a day before " \
           "this pack; no load has changed incidents since." in regional
    # the demo ends on a Friday: the analysis keeps whole weeks, up to the Sunday before
    assert last < PERIOD.date_to
    assert (f"It does not cover {last + timedelta(days=1)} to {PERIOD.date_to} of the pack's "
            f"period ({(PERIOD.date_to - last).days} days of 61 days).") in regional
    counts = Counter(cls for *_, cls in rows)
    for kind in ("hot", "cold"):
        mine = {int(c[-2:]): n for c, n in counts.items() if c.startswith(kind)}
        if mine:
            levels = ", ".join(f"{mine[c]:,} at {c} %" for c in sorted(mine, reverse=True))
            assert (f"{sum(mine.values()):,} {kind} spot cell{'s' * (sum(mine.values()) > 1)} "
                    f"({levels} confidence)") in regional, kind
        else:
            assert f"no {kind} spot cell" in regional, kind
    assert "incident density" not in regional

    img = _map_image(made.pdf, tmp_path)
    assert img.width > 1000
    # the frame: the sea south of Sicily, and central Anatolia (land of an administration)
    assert _hex(img.getpixel(_pixel(img, 13.6, 35.4))) == SEA.lower()
    assert _hex(img.getpixel(_pixel(img, 33.0, 38.6))) == TARGET_FILL.lower()
    # each cell's centre shows its class's colour; the classes on the map are those in PostGIS
    seen = Counter((cls, _class_of(img.getpixel(_pixel(img, lon, lat))))
                   for _, lon, lat, cls in rows)
    hits = sum(n for (cls, shown), n in seen.items() if shown == cls)
    assert hits >= 0.95 * len(rows), seen  # the others lie under a country's name
    wrong = {key: n for key, n in seen.items() if key[1] is not None and key[1] != key[0]}
    assert not wrong, wrong
    drawn = {cls for cls, color in GISTAR_COLOURS.items() if color in _map_colours(img)}
    assert drawn == set(counts)


@pytest.fixture
def copy_of_known(known: Engine, admin_url: str) -> Iterator[Engine]:
    """A copy of the known warehouse (its database as a template) that a test may change."""
    name = str(known.url.database)
    known.dispose()  # a template database must have no open connection: close the idle ones
    with _admin(admin_url) as conn:  # of the engines cached per URL (they ping before use)
        conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    yield from _fresh_engine(admin_url, name)


def execute(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


def _regional(engine: Engine, tmp_path: Path, name: str) -> tuple[str, PILImage.Image]:
    made = build_briefing(engine, BriefingRequest(PERIOD, "2025", operator_scope()))
    _keep(made.pdf, name)
    return _words(_pages(made.pdf, tmp_path)[1]), _map_image(made.pdf, tmp_path)


def test_map_falls_back_to_density_and_says_why(copy_of_known: Engine, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    engine = copy_of_known
    url = engine.url.render_as_string(hide_password=False)
    execute(engine, "DELETE FROM hotspot_analysis")  # its cells go with it
    text, img = _regional(engine, tmp_path, "briefing-map-density.pdf")
    assert ("Hotspots: incident density of the pack's period per H3 cell (about 45 km across), "
            "in the density classes of the situation map") in text
    assert "not a statistical hotspot analysis: no hotspot analysis has been computed yet" in text
    assert "Gi*" not in text
    assert not set(GISTAR_COLOURS.values()) & _map_colours(img)
    assert {c.lower() for c in density_colors(5)} <= _legend_colours(img)

    # a run that fails leaves no analysis: still density, and the caption says the run failed
    monkeypatch.setattr(hotspot_job, "MAX_BINS", 1)
    with pytest.raises(BorderwatchError):
        run_hotspots(engine, settings_for(url))
    (started,), = query_rows(engine, "SELECT started_at FROM load_run WHERE kind = 'hotspots' "
                                     "ORDER BY run_id DESC LIMIT 1")
    text, _ = _regional(engine, tmp_path, "briefing-map-failed.pdf")
    assert "incident density of the pack's period" in text
    assert (f"the hotspot analysis run started {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
            "failed and no earlier analysis exists (see borderwatch runs)") in text

    # a successful run brings the Gi* classes back; loads since make it stale; a later run
    # that fails keeps it, and the caption says both
    monkeypatch.undo()
    run_hotspots(engine, settings_for(url))
    execute(engine, "INSERT INTO hotspot_dirty (day) VALUES ('2025-10-01'), ('2025-10-02')")
    monkeypatch.setattr(hotspot_job, "MAX_BINS", 1)
    with pytest.raises(BorderwatchError):
        run_hotspots(engine, settings_for(url))
    text, img = _regional(engine, tmp_path, "briefing-map-stale.pdf")
    assert "Hotspots: Getis-Ord Gi* classes of the current hotspot analysis" in text
    assert ("stale: loads changed incidents on 2 days since, which its classes do not include "
            "(borderwatch analyse hotspots recomputes it)") in text
    assert "The latest recompute (started " in text and ") failed: this is the analysis before it." in text
    assert GISTAR_COLOURS["hot_99"] in _map_colours(img)


def test_a_restricted_readers_map_follows_their_scope(copy_of_known: Engine, tmp_path: Path
                                                      ) -> None:
    """A national officer's pack shows the Gi* classes (a regional statistic their role sees,
    without counts or z-scores); an analysis finer than the aggregates their role may see shows
    them none of its cells: their map falls back to density and says why."""
    engine = copy_of_known
    officer = Scope(role="national_officer", user="o", country="RS", neighbours=("BA", "HR", "HU"))
    full = query_rows(engine, """
        SELECT c.lon, c.lat, c.class FROM hotspot_cell c
        WHERE c.analysis_id = (SELECT max(analysis_id) FROM hotspot_analysis)
          AND c.class <> 'not_significant'""")
    with gateway.scoped(officer):
        made = build_briefing(engine, BriefingRequest(PERIOD, "2025", reader_for(officer)))
    _keep(made.pdf, "briefing-map-officer.pdf")
    text = _words(_pages(made.pdf, tmp_path)[1])
    assert "Hotspots: Getis-Ord Gi* classes of the current hotspot analysis" in text
    assert f"sharing level: {officer.sharing_level} page 2" in text  # fits before the number
    img = _map_image(made.pdf, tmp_path)
    shown = Counter(_class_of(img.getpixel(_pixel(img, lon, lat))) == cls for lon, lat, cls in full)
    assert shown[True] >= 0.95 * len(full), shown

    run_hotspots(engine, settings_for(engine.url.render_as_string(hide_password=False)),
                 Request(resolution=7))
    forum = Scope(role="forum_viewer", user="f")
    with gateway.scoped(forum):
        made = build_briefing(engine, BriefingRequest(PERIOD, "2025", reader_for(forum)))
    text = _words(_pages(made.pdf, tmp_path)[1])
    assert ("not a statistical hotspot analysis: the hotspot analysis' cells (H3 resolution 7, "
            "1 ring of neighbours) are finer than the aggregates the reader's role may see") in text
    assert not set(GISTAR_COLOURS.values()) & _map_colours(_map_image(made.pdf, tmp_path))
    admin = build_briefing(engine, BriefingRequest(PERIOD, "2025", operator_scope()))
    assert "H3 cells of resolution 7" in _words(_pages(admin.pdf, tmp_path)[1])
