"""Forum benchmarks (issue 12): the briefing pack and the benchmarks page's callbacks, on the
benchmark warehouse (the demo's incidents, by default 1,000,000, plus its flows, assessments,
strategies, trainings and section impact levels).

- **Briefing**: ``build_briefing`` in process for the default period (the 90 days up to the
  newest incident) and the newest round, ``repeats`` times after one warm-up: wall time, PDF
  size and pages, and where the time goes (queries, map, layout). Baseline in the same run: the
  naive form of the pack's biggest query, incidents per administration and category counted
  from ``incident`` (no rollup).
- **Page**: ``requests`` random page updates through the real server (Flask test client, as
  the map benchmark does): the round callback (status map, regional view, scorecard) and the
  drill-down callback (key figures, history, recommendations, strategies, trainings) with a
  random round, administration and period; plus ``GET /benchmarks`` (the layout). Baseline:
  the page's URL callback (no database), the floor of a Dash round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from bench.client import WARMUP, DashClient, Timings, logged_in
from bench.data import DemoData
from bench.env import BenchCluster, engine_for, settings_for
from bench.measure import Summary
from bench.report import Section, Target, ms, secs, table
from etl.runs import file_checksum
from etl.warehouse.schema import load_run

BRIEFING_TARGET_S = 20.0
P95_TARGET_S = 0.200
#: Demo files the forum benchmarks need besides the incidents (kind, file name).
PROGRAMME_FILES = (("flows", "flows.csv"), ("benchmarks", "benchmarks.csv"),
                   ("strategies", "strategies.csv"), ("trainings", "trainings.csv"))
Say = Callable[[str], None]


def ensure_programme(bench: BenchCluster, url: str, data: DemoData, *, say: Say = print) -> None:
    """Load the demo's flows, assessments, strategies, trainings and impact levels into the
    warehouse at ``url`` unless its latest run of each kind loaded that very file (not timed)."""
    from etl.load import load_file, load_impact_levels

    settings = settings_for(url)
    engine = engine_for(url)
    try:
        for kind, name in (*PROGRAMME_FILES, ("impact_levels", "impact_levels.csv")):
            path = data.folder / name
            with engine.connect() as conn:
                last = conn.execute(
                    select(load_run.c.checksum)
                    .where(load_run.c.kind == kind, load_run.c.status == "succeeded",
                           load_run.c.dry_run.is_(False))
                    .order_by(load_run.c.run_id.desc()).limit(1)).scalar()
            if last == file_checksum(path):
                continue
            say(f"forum: loading {name} (not timed) ...")
            if kind == "impact_levels":
                load_impact_levels(engine, settings, path, source="demo")
            else:
                load_file(engine, settings, kind, path, source="demo")
    finally:
        engine.dispose()


def run(url: str, data: DemoData, *, repeats: int, requests: int, seed: int,
        say: Say = print) -> Section:
    """Run both forum benchmarks against the warehouse at ``url`` (the page as the benchmarks'
    admin user, logged in; the pack with an admin's scope, as the command line makes it)."""
    from dashboard.app import create_app
    from dashboard.queries import gateway
    from dashboard.queries.scope import Scope

    app = create_app(settings_for(url))
    engine = app.server.extensions["borderwatch"].engine
    with app.server.app_context(), gateway.scoped(Scope.full("bench")):
        pack = _briefing(engine, repeats, say)
        page = _page(app, engine, url, requests, seed, say)
    return _section(data, pack, page)


# -- the briefing -----------------------------------------------------------------------------


def _briefing(engine: Any, repeats: int, say: Say) -> dict[str, Any]:
    from dashboard.briefing import BriefingRequest, build_briefing, operator_scope
    from dashboard.queries import incidents
    from dashboard.viewstate import default_filters
    from etl.warehouse.schema import incident

    ext = incidents.extent(engine)
    period = default_filters(ext.last or date.today(), ext.last)
    request = BriefingRequest(filters=period, round=None, scope=operator_scope())
    runs: list[dict[str, Any]] = []
    say(f"forum: briefing pack, {repeats} run(s) after a warm-up ...")
    for k in range(repeats + 1):
        marks: dict[str, float] = {}
        began = time.perf_counter()

        def mark(label: str, _done: int, _total: int, marks: dict[str, float] = marks,
                 began: float = began) -> None:
            marks.setdefault(label, time.perf_counter() - began)

        made = build_briefing(engine, request, progress=mark)
        total = time.perf_counter() - began
        if k == 0:
            continue  # warm-up: imports, font registration, first connections
        labels = list(marks)
        queries = marks.get("drawing the map", total)
        after = labels.index("drawing the map") + 1 if "drawing the map" in labels else len(labels)
        drawn = marks[labels[after]] if after < len(labels) else total
        runs.append({"seconds": total, "bytes": len(made.pdf), "pages": made.pages,
                     "queries": queries, "map": drawn - queries, "layout": total - drawn})
    began = time.perf_counter()
    stmt = (select(incident.c.country, incident.c.category, func.count())
            .where(incident.c.occurred_at >= period.start, incident.c.occurred_at < period.end)
            .group_by(incident.c.country, incident.c.category))
    with engine.connect() as conn:
        conn.execute(stmt).fetchall()
    naive = time.perf_counter() - began
    return {"period": [str(period.date_from), str(period.date_to)], "runs": runs,
            "naive_incident_figures_s": naive}


# -- the page ---------------------------------------------------------------------------------


def _page(app: Any, engine: Any, url: str, requests: int, seed: int, say: Say
          ) -> dict[str, Any]:
    from dashboard.queries import benchmarks as bq
    from dashboard.queries import incidents

    dash = DashClient(logged_in(app, url))
    cb_round = dash.callback("bench-map.figure")
    cb_country = dash.callback("bench-drill-title.children")
    cb_url = dash.callback("bench-query.data")
    rounds = [r.label for r in bq.rounds(engine)]
    countries = [a.iso2 for a in bq.administrations(engine)]
    ext = incidents.extent(engine)
    if not rounds or ext.first is None or ext.last is None:
        raise RuntimeError("the benchmark warehouse holds no assessment or no incident")
    rng = np.random.default_rng([seed, 12])
    timings = Timings.of(("round", "country", "url", "layout"), sized=("round", "country"))
    say(f"forum: {requests} random page updates ...")
    span = (ext.last - ext.first).days
    for i in range(requests + WARMUP):
        days = int(rng.choice([30, 90, 90, 365]))
        end = ext.first + timedelta(days=int(rng.integers(min(days, span), span + 1)))
        start = end - timedelta(days=days - 1)
        values = {"bench-round.value": str(rng.choice(rounds)),
                  "bench-country.value": str(rng.choice(countries)),
                  "bench-period.start_date": start.isoformat(),
                  "bench-period.end_date": end.isoformat()}
        got: dict[str, tuple[float, int]] = {}
        for key, dep, changed in (("round", cb_round, ["bench-round.value"]),
                                  ("country", cb_country, ["bench-country.value"]),
                                  ("url", cb_url, ["bench-round.value"])):
            seconds, body, _ = dash.call(dep, values, changed)
            got[key] = (seconds, len(body))
        seconds, _ = dash.get(f"/benchmarks?round={values['bench-round.value']}")
        got["layout"] = (seconds, 0)
        timings.record(i, got)
    return {"requests": requests, "times": timings.times, "sizes": timings.sizes}


def _section(data: DemoData, pack: dict[str, Any], page: dict[str, Any]) -> Section:
    runs = pack["runs"]
    total = Summary.of([r["seconds"] for r in runs])
    worst = max(runs, key=lambda r: r["seconds"])
    t = {k: Summary.of(v) for k, v in page["times"].items()}
    callbacks = Summary.of(page["times"]["round"] + page["times"]["country"])
    names = {"round": "round callback (status map, regional view, scorecard)",
             "country": "drill-down callback (key figures, history, recommendations, "
                        "strategies, trainings)",
             "layout": "`GET /benchmarks` (layout)",
             "url": "URL callback (no database: baseline)"}
    rows = [[names[k], ms(s.p50), ms(s.p95), ms(s.max),
             f"{Summary.of(page['sizes'][k]).max / 1e3:,.0f} kB" if k in page["sizes"] else ""]
            for k, s in t.items()]
    start, end = pack["period"]
    lines = [
        f"## Forum: briefing pack and benchmarks page, {data.rows:,} incidents", "",
        f"**Briefing pack** (`build_briefing` in process; period {start} to {end}, the newest "
        f"round; {len(runs)} run(s) after a warm-up): wall time p50 {secs(total.p50)}, max "
        f"{secs(total.max)}; {worst['pages']} pages, {worst['bytes'] / 1e6:,.2f} MB. Slowest "
        f"run: queries {secs(worst['queries'])}, map {secs(worst['map'])}, layout and PDF "
        f"{secs(worst['layout'])}. Baseline: the incidents per administration and category "
        f"counted from `incident` alone (no rollup) take {secs(pack['naive_incident_figures_s'])}"
        f"; the whole pack is {total.max / max(pack['naive_incident_figures_s'], 1e-9):.1f}× "
        "that query.", "",
        f"**Benchmarks page**: {page['requests']} random updates after {WARMUP} warm-up ones (random "
        "round, administration and a period of 30, 90 or 365 days), each callback as Dash's "
        "renderer sends it, through the real server (Flask test client, in process, no "
        "network).", "",
        table(["request", "p50", "p95", "max", "payload max"], rows), "",
        f"Ratio of the page callbacks' p95 to the no-database URL callback's p95: "
        f"{callbacks.p95 / max(t['url'].p95, 1e-9):.0f}×.",
    ]
    targets = [
        Target(f"Briefing pack ({data.rows:,} incidents)", "≤ 20 s",
               f"{secs(total.max)} max of {len(runs)} (p50 {secs(total.p50)}), "
               f"{worst['bytes'] / 1e6:,.2f} MB, {worst['pages']} pages",
               total.max <= BRIEFING_TARGET_S),
        Target("Benchmarks page callbacks, p95 server time", "≤ 200 ms",
               f"{ms(callbacks.p95)} (round {ms(t['round'].p95)}, drill-down "
               f"{ms(t['country'].p95)}; layout {ms(t['layout'].p95)})",
               callbacks.p95 <= P95_TARGET_S),
    ]
    out = {"rows": data.rows, "briefing": pack,
           "page": {k: Summary.of(v).as_dict() for k, v in page["times"].items()}}
    return Section(key="forum", markdown="\n".join(lines), targets=targets, data=out)
