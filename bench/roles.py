"""The situation map as each role sees it: server time of the map's data callbacks when the
same random updates are sent by an administrator, a national officer and a forum viewer.

A national officer sees the incidents of their own service and those shared with it
(``dashboard.queries.scope``); the incident rollup knows neither reporting country nor
sharing, so the officer's incident layers are computed from ``incident`` itself, while the
administrator's come from the rollup. A forum viewer gets counts on whole H3 cells. Each role
is logged in through the real login and sends, through the real Flask/Dash server (in
process, ``test_client``), the same ``requests`` updates as the map benchmark draws them
(``bench.map.random_update``, same seed): the incidents, density and feed callbacks.

The officer is of the country reporting the most incidents (the heaviest officer view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import text

from bench.client import WARMUP, DashClient, logged_in
from bench.data import DemoData, sample_locations
from bench.env import engine_for, settings_for
from bench.map import CHANGED, P95_TARGET_S, choices_of, random_update, update_values
from bench.measure import Summary
from bench.report import Section, Target, ms, table

Say = Callable[[str], None]
ROLES = ("admin", "national_officer", "forum_viewer")
CALLBACKS = (("incidents", "situation-points.data"), ("density", "situation-density.data"),
             ("feed", "situation-feed.children"))


def busiest_country(url: str) -> str:
    """The reporting country with the most incidents."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT reporting_country FROM incident WHERE reporting_country IS NOT NULL"
                " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")).first()
    finally:
        engine.dispose()
    if row is None:
        raise RuntimeError("no incident has a reporting country")
    return str(row[0])


def run(url: str, data: DemoData, *, requests: int, seed: int, say: Say = print) -> Section:
    """Time the map's callbacks for every role; the section for BENCHMARKS.md."""
    from dashboard.app import create_app
    from dashboard.queries import incidents
    from dashboard.queries.gateway import scoped
    from dashboard.queries.scope import Scope

    app = create_app(settings_for(url))
    engine = app.server.extensions["borderwatch"].engine
    with scoped(Scope.full("bench")):
        choices = choices_of(engine)
        watermark = incidents.extent(engine).max_id
    country = busiest_country(url)
    rng = np.random.default_rng([seed, 5])
    centres = sample_locations(data.incidents, requests + WARMUP, seed)
    updates = [random_update(rng, centres[i], data, choices) for i in range(requests + WARMUP)]
    times: dict[str, dict[str, list[float]]] = {}
    for role in ROLES:
        say(f"roles: {requests} map updates as {role} ...")
        dash = DashClient(logged_in(app, url, role, country if role == "national_officer"
                                    else None))
        times[role] = _timed(dash, updates, watermark)
    return _section(data, requests, country, times)


def _timed(dash: DashClient, updates: list[dict[str, Any]], watermark: int
           ) -> dict[str, list[float]]:
    deps = {name: dash.callback(output) for name, output in CALLBACKS}
    out: dict[str, list[float]] = {name: [] for name, _ in CALLBACKS}
    out["update"] = []
    for i, upd in enumerate(updates):
        values = update_values(upd, watermark)
        spent = {name: dash.call(deps[name], values, CHANGED)[0] for name, _ in CALLBACKS}
        if i >= WARMUP:
            for name, seconds in spent.items():
                out[name].append(seconds)
            out["update"].append(sum(spent.values()))
    return out


def _section(data: DemoData, requests: int, country: str,
             times: dict[str, dict[str, list[float]]]) -> Section:
    kinds = [name for name, _ in CALLBACKS] + ["update"]
    rows = []
    for role in ROLES:
        for kind in kinds:
            s = Summary.of(times[role][kind])
            base = Summary.of(times["admin"][kind]).p95
            rows.append([role.replace("_", " "), kind, ms(s.p50), ms(s.p95), ms(s.max),
                         f"{s.p95 / base:.1f}×" if base > 0 else "—"])
    targets = []
    for role in ROLES[1:]:
        worst = max(Summary.of(times[role][k]).p95 for k, _ in CALLBACKS)
        targets.append(Target(f"Map data requests as a {role.replace('_', ' ')}, p95 server "
                              f"time ({data.rows:,} incidents)", "≤ 150 ms", ms(worst),
                              worst <= P95_TARGET_S))
    lines = [
        f"## The map by role: {data.rows:,} incidents, {requests} random updates per role",
        "",
        "The same random viewport and filter updates as the map benchmark (same seed), sent "
        "through the real server by a logged-in user of each role: the incidents, density and "
        "feed callbacks, server time per request; *update* is the three together. The national "
        f"officer is of {country}, the country reporting the most incidents. The administrator's "
        "incident layers come from the rollup; the officer's are computed from the incidents "
        "(the rollup knows neither reporting country nor sharing); the forum viewer's are "
        "counts on whole cells.",
        "",
        table(["role", "request", "p50", "p95", "max", "p95 ÷ admin's"], rows),
    ]
    data_out = {role: {k: Summary.of(v).as_dict() for k, v in kinds_.items()}
                for role, kinds_ in times.items()}
    return Section(key="roles", markdown="\n".join(lines), targets=targets,
                   data={"requests": requests, "country": country, "times": data_out})
