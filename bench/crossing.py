"""Crossing page benchmark (issue 11): server time of every callback of ``/bcp/<code>`` for the
busiest crossing (the most traffic in the demo's two years of daily flows), on the benchmark
warehouse (the demo's incidents, 1,000,000 by default, with its flows of both sides).

``requests`` random views after 3 warm-up ones (a period of 30, 90, 90, 365 or 730 days ending
somewhere in the flows, either reporting side, any traffic and vehicle category, a radius of
2-25 km or the border section), each callback sent as Dash's renderer sends it, through the
real server (Flask test client, in process, no network): flows (STL baseline and flags), waits,
mirror reconciliation, incidents near the crossing, risk and facilitation; plus
``GET /bcp/<code>`` (the layout) and the flows CSV (every category of the side). Baseline in the
same run: the page's view callback, which reads no database (the floor of a Dash round trip).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from bench.client import WARMUP, DashClient, Timings, logged_in
from bench.data import DemoData
from bench.env import settings_for
from bench.measure import Summary
from bench.report import Section, Target, ms, table

P95_TARGET_S = 0.300
Say = Callable[[str], None]
#: Callback -> the output that names it (``id.property``).
CALLBACKS = {
    "flows": "bcp-flows-graph.figure",
    "waits": "bcp-waits-graph.figure",
    "mirror": "bcp-mirror-graph.figure",
    "incidents": "bcp-incidents-graph.figure",
    "risk": "bcp-risk-graph.figure",
    "view": "bcp-state.data",
}
NAMES = {
    "flows": "flows callback (STL baseline, robust z, flags)",
    "waits": "waiting times callback (Green Lanes bands)",
    "mirror": "mirror reconciliation callback",
    "incidents": "incidents near the crossing callback",
    "risk": "risk and facilitation callback (BCP and peers)",
    "layout": "`GET /bcp/<code>` (layout: header, controls)",
    "csv": "flows CSV, every category (`/api/bcp/<code>/flows.csv`)",
    "view": "view callback (no database: baseline)",
}
DATA_CALLBACKS = ("flows", "waits", "mirror", "incidents", "risk")


def busiest(engine: Any) -> tuple[str, date, date, list[str], list[str]]:
    """The crossing with the most traffic: code, first and last flow day, reporting sides,
    categories."""
    from etl.warehouse.schema import flow

    with engine.connect() as conn:
        code = conn.execute(select(flow.c.bcp_code).group_by(flow.c.bcp_code)
                            .order_by(func.sum(flow.c.count).desc()).limit(1)).scalar()
        if code is None:
            raise RuntimeError("the benchmark warehouse holds no flows")
        first, last = conn.execute(select(func.min(flow.c.date), func.max(flow.c.date))
                                   .where(flow.c.bcp_code == code)).one()
        sides = conn.execute(select(flow.c.reporting_country).distinct()
                             .where(flow.c.bcp_code == code)).scalars().all()
        cats = conn.execute(select(flow.c.category).distinct()
                            .where(flow.c.bcp_code == code)).scalars().all()
    return str(code), first, last, sorted(sides), sorted(cats)


def run(url: str, data: DemoData, *, requests: int, seed: int, say: Say = print) -> Section:
    """Time the crossing page's callbacks on the warehouse at ``url`` (as the benchmarks'
    admin user, logged in)."""
    from dashboard.app import create_app
    from dashboard.viewstate import CrossingView, Filters

    app = create_app(settings_for(url))
    engine = app.server.extensions["borderwatch"].engine
    code, first, last, sides, cats = busiest(engine)
    with engine.connect() as conn:
        from etl.warehouse.schema import flow

        rows = conn.execute(select(func.count()).where(flow.c.bcp_code == code)).scalar_one()
    dash = DashClient(logged_in(app, url))
    deps = {k: dash.callback(v) for k, v in CALLBACKS.items()}
    rng = np.random.default_rng([seed, 11])
    span = (last - first).days + 1
    timings = Timings.of((*DATA_CALLBACKS, "layout", "csv", "view"), sized=DATA_CALLBACKS)
    say(f"crossing: {requests} random views of {code} ({rows:,} flow rows, {span} days) ...")
    for i in range(requests + WARMUP):
        days = min(span, int(rng.choice([30, 90, 90, 365, 730])))
        end = first + timedelta(days=int(rng.integers(days - 1, span)))
        view = CrossingView(
            filters=Filters(date_from=end - timedelta(days=days - 1), date_to=end),
            side=str(rng.choice(sides)), flow=str(rng.choice(cats)),
            wait=str(rng.choice(["cars", "buses", "trucks"])),
            radius_km=float(rng.choice([2.0, 5.0, 10.0, 10.0, 25.0])),
            near="section" if rng.random() < 0.2 else "radius")
        state = {"code": code, **view.to_dict()}
        got: dict[str, tuple[float, int]] = {}
        for key in DATA_CALLBACKS:
            seconds, body, _ = dash.call(deps[key], {"bcp-state.data": state},
                                         ["bcp-state.data"])
            got[key] = (seconds, len(body))
        controls: dict[str, Any] = {
            "bcp-period.start_date": view.filters.date_from.isoformat(),
            "bcp-period.end_date": view.filters.date_to.isoformat(),
            "bcp-side.value": view.side, "bcp-flow.value": view.flow,
            "bcp-wait.value": view.wait, "bcp-cat.value": [],
            "bcp-radius.value": view.radius_km, "bcp-near.value": view.near,
            "bcp-state.data": state}
        seconds, _, _ = dash.call(deps["view"], controls, ["bcp-flow.value"])
        got["view"] = (seconds, 0)
        seconds, _ = dash.get(f"/bcp/{code}{view.to_query()}")
        got["layout"] = (seconds, 0)
        seconds, _ = dash.get(f"/api/bcp/{code}/flows.csv{view.to_query()}")
        got["csv"] = (seconds, 0)
        timings.record(i, got)
    return _section(data, code, rows, span, requests, timings.times, timings.sizes)


def _section(data: DemoData, code: str, rows: int, span: int, requests: int,
             times: dict[str, list[float]], sizes: dict[str, list[int]]) -> Section:
    t = {k: Summary.of(v) for k, v in times.items()}
    callbacks = Summary.of([s for k in DATA_CALLBACKS for s in times[k]])
    worst = max(DATA_CALLBACKS, key=lambda k: t[k].p95)
    table_rows = [[NAMES[k], ms(s.p50), ms(s.p95), ms(s.max),
                   f"{Summary.of(sizes[k]).max / 1e3:,.0f} kB" if k in sizes else ""]
                  for k, s in t.items()]
    lines = [
        f"## Crossing page, {data.rows:,} incidents", "",
        f"The busiest crossing, `{code}` ({rows:,} flow rows of both sides over {span} days). "
        f"{requests} random views after {WARMUP} warm-up ones (a period of 30, 90, 365 or 730 days, "
        "either reporting side, any traffic and vehicle category, a radius of 2-25 km or the "
        "border section), each callback as Dash's renderer sends it, through the real server "
        "(Flask test client, in process, no network).", "",
        table(["request", "p50", "p95", "max", "payload max"], table_rows), "",
        f"Ratio of the data callbacks' p95 to the no-database view callback's p95: "
        f"{callbacks.p95 / max(t['view'].p95, 1e-9):.0f}×.",
    ]
    targets = [Target(f"Crossing page callbacks, p95 server time ({data.rows:,} incidents)",
                      "≤ 300 ms",
                      f"{ms(callbacks.p95)} over all; slowest {worst} {ms(t[worst].p95)} "
                      f"(layout {ms(t['layout'].p95)})",
                      all(t[k].p95 <= P95_TARGET_S for k in DATA_CALLBACKS))]
    out = {"rows": data.rows, "code": code, "flow_rows": rows, "days": span,
           "requests": requests, "times": {k: s.as_dict() for k, s in t.items()}}
    return Section(key=f"crossing-{data.rows}", markdown="\n".join(lines), targets=targets,
                   data=out)
