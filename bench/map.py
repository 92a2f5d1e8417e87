"""Map benchmark (issue 5): server time and payload of the situation map's data requests.

With the benchmark warehouse holding the loaded demo incidents, each of ``requests`` random
*updates* (a viewport at zoom 6-12 somewhere in the region and random filters: date range,
categories, subtype, countries, border pair) sends what the browser sends for such an update,
through the real Flask/Dash server (``app.server.test_client()``, in process, no network):

- the incidents callback (``situation-points.data`` ...), the density callback
  (``situation-density.data`` ..., reported as "hotspots" in earlier runs), the feed callback
  (``situation-feed.children`` ...), as
  ``POST /_dash-update-component`` with the payload Dash's renderer builds;
- the reference layers for those filters: ``GET /api/layers/{sections,bcps,patrol}.geojson``
  and ``basemap.geojson`` at that zoom's detail.

Server time is the wall time of one request inside the server process. Payload is the
uncompressed response body. Features are counted in the GeoJSON of the response.

Baseline (for the ratio): the naive query, every matching incident in the viewport as GeoJSON
points (no aggregation, no cap), through the same filter conditions and point builder, on the
first ``baseline_requests`` updates. To compare like with like, the real incidents path is also
timed at the same level (query function + builder + ``json.dumps``, no HTTP).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from bench import load as load_bench
from bench.client import WARMUP, DashClient, logged_in
from bench.data import DemoData, sample_locations
from bench.env import BenchCluster, engine_for, settings_for
from bench.measure import Summary, run_measured
from bench.report import Section, Target, ms, table
from etl.runs import file_checksum
from etl.warehouse.schema import load_run

P95_TARGET_S = 0.150
PAYLOAD_TARGET = 1_000_000
FEATURE_TARGET = 5000
#: Map size in CSS pixels (the map area of a 1920x1080 wall screen, next to the sidebar).
MAP_PX = (1600, 900)
#: Where random viewports are centred when not on an incident: the whole region.
REGION = (13.5, 35.8, 44.8, 46.9)
BASELINE_BUDGET_S = 240.0
Say = Callable[[str], None]


# --------------------------------------------------------------------------- the warehouse


def ensure_loaded(bench: BenchCluster, data: DemoData, *, say: Say = print) -> str:
    """URL of a warehouse holding ``data``'s incidents (the load benchmark's, if it has them).

    Reused when its latest succeeded incidents run loaded this very file (same sha256);
    otherwise loaded now with ``borderwatch load incidents`` (not timed). Then VACUUM ANALYZE,
    which autovacuum would do a minute after a load this size.
    """
    name = load_bench.loaded_database(bench, data.rows)
    url = bench.url(name)
    checksum = file_checksum(data.incidents)
    loaded = False
    if bench.exists(name):
        engine = engine_for(url)
        try:
            with engine.connect() as conn:
                last = conn.execute(
                    select(load_run.c.checksum)
                    .where(load_run.c.kind == "incidents", load_run.c.status == "succeeded",
                           load_run.c.dry_run.is_(False))
                    .order_by(load_run.c.run_id.desc()).limit(1)).scalar()
            loaded = last == checksum
        finally:
            engine.dispose()
    if not loaded:
        say(f"map: loading {data.rows:,} incidents into {name} (not timed) ...")
        url = bench.fresh_warehouse(name)
        cmd, env = load_bench.load_command(str(data.incidents), url)
        run = run_measured(cmd, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"loading the map benchmark data failed: {run.stderr[-2000:]}")
    bench.vacuum_analyze(name)
    return url


# ------------------------------------------------------------------------ random updates


def viewport(lon: float, lat: float, zoom: int, px: tuple[int, int] = MAP_PX
             ) -> list[list[float]]:
    """Leaflet bounds ``[[south, west], [north, east]]`` of a ``px`` map centred at lon/lat."""
    scale = 256 * 2**zoom

    def to_px(lo: float, la: float) -> tuple[float, float]:
        s = math.sin(math.radians(la))
        return ((lo + 180) / 360 * scale,
                (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale)

    def to_deg(x: float, y: float) -> tuple[float, float]:
        n = math.pi - 2 * math.pi * y / scale
        return x / scale * 360 - 180, math.degrees(math.atan(math.sinh(n)))

    cx, cy = to_px(lon, lat)
    west, north = to_deg(cx - px[0] / 2, cy - px[1] / 2)
    east, south = to_deg(cx + px[0] / 2, cy + px[1] / 2)
    return [[south, west], [north, east]]


@dataclass(frozen=True)
class Choices:
    """What random filters pick from."""

    countries: list[str]
    pairs: list[str]
    subtypes: list[str]


def random_update(rng: np.random.Generator, centre: np.ndarray, data: DemoData,
                  choices: Choices) -> dict[str, Any]:
    """One random viewport + filters, as the map's stores hold them."""
    from dashboard.viewstate import Filters
    from etl.warehouse.schema import INCIDENT_CATEGORIES

    zoom = int(rng.integers(6, 13))
    if rng.random() < 0.25:
        lon, lat = rng.uniform(REGION[0], REGION[2]), rng.uniform(REGION[1], REGION[3])
    else:
        lon, lat = float(centre[0]), float(centre[1])
    span_days = (data.last_day - data.first_day).days
    length = int(rng.choice([1, 7, 30, 90, 180, 365, 730],
                            p=[0.05, 0.15, 0.2, 0.3, 0.1, 0.1, 0.1]))
    end = data.last_day - timedelta(days=int(rng.integers(0, max(1, span_days // 4))))
    start = max(data.first_day, end - timedelta(days=length - 1))
    cats: tuple[str, ...] = ()
    if rng.random() < 0.5:
        k = int(rng.integers(1, 3))
        cats = tuple(str(c) for c in rng.choice(INCIDENT_CATEGORIES, size=k, replace=False))
    subs = (str(rng.choice(choices.subtypes)),) if choices.subtypes and rng.random() < 0.1 else ()
    countries: tuple[str, ...] = ()
    if choices.countries and rng.random() < 0.3:
        k = int(rng.integers(1, 3))
        countries = tuple(str(c) for c in rng.choice(choices.countries, size=k, replace=False))
    pairs = (str(rng.choice(choices.pairs)),) if choices.pairs and rng.random() < 0.1 else ()
    filters = Filters(date_from=start, date_to=end, categories=cats, subtypes=subs,
                      countries=countries, pairs=pairs)
    return {"zoom": zoom, "bounds": viewport(lon, lat, zoom), "center": [lat, lon],
            "filters": filters}


def choices_of(engine: Any) -> Choices:
    """What random filters pick from, read from the warehouse (in the caller's scope)."""
    from dashboard.queries import incidents, reference

    return Choices(
        countries=[c["iso2"] for c in reference.country_options(engine) if c["is_target"]],
        pairs=[p["pair_id"] for p in reference.pair_options(engine)],
        subtypes=sorted({s for subs in incidents.subtypes(engine).values() for s in subs}),
    )


#: The map's inputs a random update changes (as Dash's renderer reports them).
CHANGED = ["situation-map.bounds", "situation-map.zoom", "situation-filters.data"]


def update_values(upd: dict[str, Any], watermark: int) -> dict[str, Any]:
    """The map's input values for one random update, every layer on."""
    from dashboard.viewstate import LAYERS

    return {
        "situation-filters.data": upd["filters"].to_dict(), "situation-map.bounds": upd["bounds"],
        "situation-map.zoom": upd["zoom"], "situation-layers.overlays": list(LAYERS.values()),
        "situation-refresh.data": {"watermark": watermark, "new_ids": []},
        "situation-map.center": upd["center"],
    }


def count_features(obj: Any) -> int:
    """GeoJSON features anywhere in a decoded response."""
    if isinstance(obj, dict):
        if obj.get("type") == "FeatureCollection":
            return len(obj.get("features") or [])
        return sum(count_features(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(count_features(v) for v in obj)
    return 0


# ------------------------------------------------------------------------------ the run


@dataclass
class Sample:
    """Time, bytes and features of one kind of request over all updates."""

    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    features: list[int] = field(default_factory=list)
    wire: list[int] = field(default_factory=list)

    def add(self, seconds: float, size: int, features: int, wire: int | None = None) -> None:
        self.seconds.append(seconds)
        self.sizes.append(size)
        self.features.append(features)
        if wire is not None:
            self.wire.append(wire)

    def as_dict(self) -> dict[str, Any]:
        out = {"seconds": Summary.of(self.seconds).as_dict(),
               "bytes": Summary.of(self.sizes).as_dict(),
               "features": Summary.of(self.features).as_dict()}
        if self.wire:
            out["wire_bytes"] = Summary.of(self.wire).as_dict()
        return out


def _naive(engine: Any, filters: Any, bounds: list[list[float]]) -> tuple[float, int, int]:
    """Every matching incident in the viewport as GeoJSON points: (seconds, bytes, features)."""
    from dashboard.components.layers import incident_points
    from dashboard.queries.incidents import filter_conditions
    from etl.warehouse.schema import incident

    (south, west), (north, east) = bounds
    envelope = func.ST_MakeEnvelope(west, south, east, north, 4326)
    stmt = select(incident.c.id, incident.c.category,
                  func.ST_X(incident.c.geom).label("lon"),
                  func.ST_Y(incident.c.geom).label("lat")
                  ).where(*filter_conditions(filters), incident.c.geom.intersects(envelope))
    began = time.perf_counter()
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    body = json.dumps(incident_points(rows), separators=(",", ":")).encode()
    return time.perf_counter() - began, len(body), len(rows)


def _direct(engine: Any, settings: Any, filters: Any, bounds: list[list[float]], zoom: int
            ) -> tuple[float, int, int]:
    """The real incidents path without HTTP: query function + builder + json.dumps."""
    from dashboard.components.layers import incident_clusters, incident_points
    from dashboard.queries import incidents
    from dashboard.queries.incidents import BBox

    began = time.perf_counter()
    layer = incidents.incident_layer(engine, filters, BBox.from_leaflet(bounds), zoom,
                                     settings.max_map_features)
    built = (incident_points(layer.rows) if layer.mode == "points"
             else incident_clusters(layer.rows))
    body = json.dumps(built, separators=(",", ":")).encode()
    return time.perf_counter() - began, len(body), len(built["features"])


def run(url: str, data: DemoData, *, requests: int, baseline_requests: int, seed: int,
        say: Say = print) -> Section:
    """Run the map benchmark against the warehouse at ``url`` (requests as the benchmarks'
    admin user, logged in; direct query calls with an admin's scope)."""
    from dashboard.queries import gateway
    from dashboard.queries.scope import Scope

    with gateway.scoped(Scope.full("bench")):
        return _run(url, data, requests=requests, baseline_requests=baseline_requests, seed=seed,
                    say=say)


def _run(url: str, data: DemoData, *, requests: int, baseline_requests: int, seed: int,
         say: Say) -> Section:
    from dashboard.app import create_app
    from dashboard.queries import incidents

    settings = settings_for(url)
    app = create_app(settings)
    dash = DashClient(logged_in(app, url))
    read_engine = app.server.extensions["borderwatch"].engine
    naive_engine = engine_for(url)  # no statement time limit: the naive query may be slow
    cb_incidents = dash.callback("situation-points.data")
    cb_hotspots = dash.callback("situation-density.data")
    cb_feed = dash.callback("situation-feed.children")
    cb_refs = dash.callback("situation-sections.url")
    ext = incidents.extent(read_engine)
    choices = choices_of(read_engine)
    rng = np.random.default_rng([seed, 5])
    centres = sample_locations(data.incidents, requests + 3, seed)
    kinds = ("incidents", "hotspots", "feed", "ref_urls", "sections", "bcps", "patrol", "basemap")
    samples = {k: Sample() for k in kinds}
    worst, sent = Sample(), Sample()
    sent_times: list[float] = []
    direct, naive = Sample(), Sample()
    modes: dict[str, int] = {}
    by_zoom: dict[int, list[float]] = {}
    previous: dict[str, str] = {}
    naive_spent = 0.0
    say(f"map: {requests} random updates ({len(kinds)} requests each) ...")
    for i in range(requests + WARMUP):
        upd = random_update(rng, centres[i], data, choices)
        f = upd["filters"]
        values = update_values(upd, ext.max_id)
        got: dict[str, tuple[float, int, int, int]] = {}  # seconds, bytes, features, wire bytes
        urls: dict[str, Any] = {}
        clustered = False
        for key, dep in (("incidents", cb_incidents), ("hotspots", cb_hotspots),
                         ("feed", cb_feed), ("ref_urls", cb_refs)):
            seconds, body, decoded = dash.call(dep, values, CHANGED)
            got[key] = (seconds, len(body), count_features(decoded), dash.wire)
            if key == "incidents":
                points = decoded.get("response", {}).get("situation-points", {}).get("data")
                clustered = not count_features(points) and bool(got[key][2])
            if key == "ref_urls":
                urls = decoded.get("response", {})
        paths = {k: urls.get(f"situation-{k}", {}).get("url") for k in ("sections", "bcps",
                                                                          "patrol")}
        if not all(paths.values()):
            raise RuntimeError("the reference-URL callback returned no URL; has the page changed?")
        paths["basemap"] = f"/api/layers/basemap.geojson?detail={int(upd['zoom'] >= 9)}"
        fetched = {k: previous.get(k) != path for k, path in paths.items()}
        previous.update(paths)
        for key, path in paths.items():
            seconds, body = dash.get(path)
            got[key] = (seconds, len(body), count_features(json.loads(body)), dash.wire)
        if i < WARMUP:
            continue
        for key in kinds:
            samples[key].add(*got[key])
        worst.add(sum(got[k][0] for k in kinds), sum(got[k][1] for k in kinds),
                  sum(got[k][2] for k in kinds), sum(got[k][3] for k in kinds))
        browser = [k for k in kinds if fetched.get(k, True)]
        sent_times.extend(got[k][0] for k in browser)
        sent.add(sum(got[k][0] for k in browser), sum(got[k][1] for k in browser),
                 sum(got[k][2] for k in browser), sum(got[k][3] for k in browser))
        mode = "clusters" if clustered else "points"
        modes[mode] = modes.get(mode, 0) + 1
        by_zoom.setdefault(upd["zoom"], []).append(got["incidents"][0])
        direct.add(*_direct(read_engine, settings, f, upd["bounds"], upd["zoom"]))
        if i - 3 < baseline_requests and naive_spent < BASELINE_BUDGET_S:
            result = _naive(naive_engine, f, upd["bounds"])
            naive_spent += result[0]
            naive.add(*result)
        if (i - 2) % 50 == 0:
            say(f"  {i - 2}/{requests}")
    naive_engine.dispose()
    return _section(data, requests, samples, worst, sent, sent_times, direct, naive, modes,
                    by_zoom, settings)


def _section(data: DemoData, requests: int, samples: dict[str, Sample], worst: Sample,
             sent: Sample, sent_times: list[float], direct: Sample, naive: Sample,
             modes: dict[str, int], by_zoom: dict[int, list[float]], settings: Any) -> Section:
    names = {
        "incidents": "incidents callback (points or server clusters)",
        "hotspots": "density callback (H3 hexagons)",
        "feed": "feed callback (newest 50 + count)",
        "ref_urls": "reference-layer URL callback",
        "sections": "`GET sections.geojson`",
        "bcps": "`GET bcps.geojson`",
        "patrol": "`GET patrol.geojson`",
        "basemap": "`GET basemap.geojson`",
    }
    every = Summary.of([t for s in samples.values() for t in s.seconds])
    pooled = Summary.of(sent_times)
    rows = []
    for key, s in samples.items():
        t, b, n = Summary.of(s.seconds), Summary.of(s.sizes), Summary.of(s.features)
        rows.append([names[key], ms(t.p50), ms(t.p95), ms(t.max), f"{b.p50 / 1e3:,.1f} kB",
                     f"{b.max / 1e3:,.1f} kB", f"{n.max:,.0f}"])
    rows.append([f"**data requests the browser sends** ({pooled.n})", ms(pooled.p50),
                 f"**{ms(pooled.p95)}**", ms(pooled.max), "", "", ""])
    rows.append([f"every request timed above ({every.n})", ms(every.p50), ms(every.p95),
                 ms(every.max), "", "", ""])
    for label, agg in (("**one update, as the browser sends it**", sent),
                       ("one update, all 8 requests (worst case)", worst)):
        t, b, n = Summary.of(agg.seconds), Summary.of(agg.sizes), Summary.of(agg.features)
        rows.append([label + " (sum, one after another)", ms(t.p50), ms(t.p95), ms(t.max),
                     f"{b.p50 / 1e3:,.1f} kB", f"**{b.max / 1e3:,.1f} kB**", f"{n.max:,.0f}"])
    zoom_rows = [[z, len(v), ms(Summary.of(v).p50), ms(Summary.of(v).p95), ms(max(v))]
                 for z, v in sorted(by_zoom.items())]
    d_t, n_t = Summary.of(direct.seconds), Summary.of(naive.seconds)
    n_b, n_n = Summary.of(naive.sizes), Summary.of(naive.features)
    k = len(naive.seconds)
    d_same = Summary.of(direct.seconds[:k])
    inc_features = Summary.of(samples["incidents"].features)
    sent_b, worst_b = Summary.of(sent.sizes), Summary.of(worst.sizes)
    sent_w = Summary.of(sent.wire)
    lines = [
        f"## Map data requests, {data.rows:,} incidents", "",
        f"{requests} random updates after 3 warm-up ones. Each update: a {MAP_PX[0]}×{MAP_PX[1]} "
        "px viewport at a random zoom 6–12, centred on a random incident (3 in 4) or anywhere "
        "in the region; random filters: date range of 1 day to 2 years (90 days most often), "
        "categories (half of the time 1–2), a subtype (1 in 10), 1–2 countries (3 in 10), a "
        "border pair (1 in 10); all five layers on. For each update the benchmark sends all 8 "
        "data requests of the page through the real server (Flask test client, in process, no "
        "network; server time = handling one request, compression included: the requests ask "
        "for `gzip, deflate, br, zstd` as Chromium does). Payloads are the uncompressed JSON "
        "the page reads; what crosses the network is far smaller (see the targets). "
        "The browser sends the 4 callbacks on "
        "every update, but a reference layer only when its URL changes (the border-pair or "
        "country filter changed; the basemap when crossing zoom 9), and may even answer those "
        "from its cache (`max-age` 60 s, not modelled). The warehouse was VACUUM ANALYZEd after "
        f"the load. `max_map_features` = {settings.max_map_features}. Incidents layer: "
        f"{modes.get('points', 0)} updates answered with raw points, {modes.get('clusters', 0)} "
        "with server clusters.", "",
        table(["request", "p50", "p95", "max", "payload p50", "payload max", "features max"],
              rows), "",
        "Incidents callback server time by zoom:", "",
        table(["zoom", "updates", "p50", "p95", "max"], zoom_rows), "",
        f"**Baseline** (naive: every matching incident in the viewport as GeoJSON points, no "
        f"aggregation, no cap; query + builder + `json.dumps`, no HTTP) on the first {k} "
        f"updates: p50 {ms(n_t.p50)}, p95 {ms(n_t.p95)}, max {ms(n_t.max)}; payload p50 "
        f"{n_b.p50 / 1e3:,.0f} kB, max {n_b.max / 1e6:,.1f} MB; features p50 {n_n.p50:,.0f}, "
        f"max {n_n.max:,.0f}. The real incidents path at the same level (query function + "
        f"builder + `json.dumps`) on the same {k} updates: p50 {ms(d_same.p50)}, p95 "
        f"{ms(d_same.p95)}, max {ms(d_same.max)} (all {len(direct.seconds)} updates: p95 "
        f"{ms(d_t.p95)}). Ratio naive ÷ real at p95: "
        f"**{n_t.p95 / d_same.p95:.1f}×**, at p50: {n_t.p50 / d_same.p50:.1f}×; payload max: "
        f"{n_b.max / max(1, Summary.of(direct.sizes[:k]).max):.0f}×.",
    ]
    targets = [
        Target(f"Map data requests, p95 server time ({data.rows:,} incidents)", "≤ 150 ms",
               f"{ms(pooled.p95)} (p50 {ms(pooled.p50)}, max {ms(pooled.max)}; every request "
               f"timed: p95 {ms(every.p95)})", pooled.p95 <= P95_TARGET_S),
        Target("Payload per map update", "≤ 1 MB",
               f"max {sent_b.max / 1e6:,.2f} MB as sent, uncompressed (p50 "
               f"{sent_b.p50 / 1e6:,.2f} MB); all 8 requests: max {worst_b.max / 1e6:,.2f} MB; "
               f"compressed on the wire: max {sent_w.max / 1e3:,.0f} kB (p50 "
               f"{sent_w.p50 / 1e3:,.0f} kB)", sent_b.max <= PAYLOAD_TARGET),
        Target("Incident features per update", "≤ ~5,000",
               f"max {inc_features.max:,.0f}", inc_features.max <= FEATURE_TARGET),
        Target("Naive baseline ÷ real incidents path, p95", "report",
               f"{n_t.p95 / d_same.p95:.1f}× ({ms(n_t.p95)} vs {ms(d_same.p95)})", None),
    ]
    out = {"rows": data.rows, "requests": requests,
           "samples": {k2: s.as_dict() for k2, s in samples.items()},
           "pooled_sent": pooled.as_dict(), "every": every.as_dict(),
           "update_sent": sent.as_dict(), "update_worst": worst.as_dict(),
           "direct": direct.as_dict(), "naive": naive.as_dict(), "modes": modes,
           "by_zoom": {z: Summary.of(v).as_dict() for z, v in by_zoom.items()}}
    return Section(key="map", markdown="\n".join(lines), targets=targets, data=out)
