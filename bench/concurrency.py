"""Concurrency benchmark (issue 9 item 5): the dashboard under N clients without think time.

``borderwatch serve`` (gunicorn as shipped: 2 workers x 4 threads) serves the benchmark
warehouse; locust 2.47.0 (``bench/locustfile.py``, in its own venv ``var/bench/locust-venv``
from ``bench/locust-requirements.txt``: locust needs urllib3 2, the browser tests pin 1.26)
runs ``users`` users, each replaying random map updates (the incidents, hotspots and feed
callbacks and the four reference layers) with no think time, for ``seconds``. Meanwhile:

- py-spy samples one gunicorn worker twice at once: every thread, idle ones included (wall
  time: where a request waits) and only the thread holding the GIL (where Python spends CPU);
- the CPU seconds of the server (gunicorn), its PostgreSQL and locust are read before and
  after, to say which of them fills the cores.

The report gives throughput, latency percentiles per request kind, both profiles by activity
(waiting for PostgreSQL, SQLAlchemy, JSON, compression, builders, Dash/Flask, idle) and the
functions with the most samples.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.data import DemoData, sample_locations
from bench.env import bench_user
from bench.measure import tree_cpu_s
from bench.report import Section, Target, table

REQUIREMENTS = Path(__file__).with_name("locust-requirements.txt")
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
#: Activities of a profile sample, by the innermost frame whose file matches (frames of the
#: standard library match nothing and pass to their caller). IDLE: threads with no request.
IDLE = "idle (no request to serve)"
ACTIVITIES: list[tuple[str, re.Pattern[str]]] = [
    ("PostgreSQL (psycopg: sending, waiting, reading rows)", re.compile(r"^psycopg")),
    ("SQLAlchemy (building and compiling SQL, result rows)", re.compile(r"^(sqlalchemy|geoalchemy2)/")),
    ("compression (zstd / brotli / gzip)", re.compile(r"^(flask_compress|zstandard|brotli|gzip|zlib)")),
    ("JSON encoding", re.compile(r"^(json/|plotly/io/|orjson)|_json")),
    ("map builders, H3 (dashboard/components)", re.compile(r"^(dashboard/components/|h3/)")),
    ("queries, Python side (dashboard/queries)", re.compile(r"^dashboard/queries/")),
    ("input checks, view state (dashboard, pydantic)", re.compile(r"^(dashboard/|pydantic)")),
    ("Dash dispatch", re.compile(r"^dash/")),
    ("Flask, Werkzeug", re.compile(r"^(flask|werkzeug)/")),
    ("gunicorn (reading and writing HTTP)", re.compile(r"^gunicorn/http/|handle_request")),
    (IDLE, re.compile(r"^(gunicorn/|concurrent/futures/)")),
]
_PATH = re.compile(r"\((?P<path>[^():]+)(?::\d+)?\)$")
OTHER = "other"


def locust_exe(root: Path, say: Any = print) -> Path:
    """``locust`` of the benchmark's own venv (created, or refreshed when the pin changed)."""
    venv = root / "locust-venv"
    stamp = venv / ".requirements"
    wanted = REQUIREMENTS.read_text()
    exe = venv / "bin" / "locust"
    if exe.exists() and stamp.exists() and stamp.read_text() == wanted:
        return exe
    say(f"installing {wanted.strip()} into {venv} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(REQUIREMENTS)],
                   check=True)
    stamp.write_text(wanted)
    return exe


def prepare_updates(url: str, data: DemoData, count: int, seed: int) -> list[list[dict[str, Any]]]:
    """``count`` random map updates, each the list of requests a browser sends for it."""
    from bench import map as map_bench
    from bench.client import DashClient, callback_payload, logged_in
    from dashboard.app import create_app
    from dashboard.components.situation_map import reference_url
    from dashboard.queries import gateway, incidents, reference
    from dashboard.queries.scope import Scope
    from dashboard.routes import LAYER_PREFIX
    from dashboard.viewstate import LAYERS

    app = create_app(map_bench.settings_for(url))
    dash = DashClient(logged_in(app, url))
    engine = app.server.extensions["borderwatch"].engine
    with gateway.scoped(Scope.full("bench")):  # what the updates may ask for: everything
        ext = incidents.extent(engine)
        choices = map_bench.Choices(
            countries=[c["iso2"] for c in reference.country_options(engine) if c["is_target"]],
            pairs=[p["pair_id"] for p in reference.pair_options(engine)],
            subtypes=sorted({s for subs in incidents.subtypes(engine).values() for s in subs}),
        )
    rng = np.random.default_rng([seed, 9])
    centres = sample_locations(data.incidents, count, seed + 9)
    changed = ["situation-map.bounds", "situation-map.zoom", "situation-filters.data"]
    out = []
    for i in range(count):
        upd = map_bench.random_update(rng, centres[i], data, choices)
        f = upd["filters"]
        values = {"situation-filters.data": f.to_dict(), "situation-map.bounds": upd["bounds"],
                  "situation-map.zoom": upd["zoom"], "situation-layers.overlays": list(LAYERS.values()),
                  "situation-refresh.data": {"watermark": ext.max_id, "new_ids": []}}
        requests = [{"method": "POST", "path": "/_dash-update-component", "name": name,
                     "body": json.dumps(callback_payload(dash.callback(output), values, changed))}
                    for name, output in (("incidents callback", "situation-points.data"),
                                         ("density callback", "situation-density.data"),
                                         ("feed callback", "situation-feed.children"))]
        for key in ("sections", "bcps", "patrol"):
            requests.append({"method": "GET", "name": f"{key}.geojson",
                             "path": reference_url(f"{LAYER_PREFIX}/{key}.geojson", f.pairs, f.countries)})
        requests.append({"method": "GET", "name": "basemap.geojson",
                         "path": f"{LAYER_PREFIX}/basemap.geojson?detail={int(upd['zoom'] >= 9)}"})
        out.append(requests)
    return out


def _cpu(pid: int | None) -> float:
    if not pid:
        return 0.0
    try:
        return tree_cpu_s(psutil.Process(pid))
    except psutil.Error:
        return 0.0


def _stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def summarise_profile(raw: str) -> tuple[dict[str, int], list[tuple[str, int]], int]:
    """py-spy's raw (collapsed) stacks -> samples by activity, top own-time functions, total."""
    by_activity: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        activity = OTHER
        for frame in reversed(frames):
            where = _PATH.search(frame)
            path = where["path"] if where else frame
            found = next((name for name, pattern in ACTIVITIES
                          if pattern.search(path) or (name.startswith("gunicorn") and pattern.search(frame))),
                         None)
            if found:
                activity = found
                break
        by_activity[activity] += n
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += n
    return dict(by_activity), leaves.most_common(12), total


def _py_spy(pid: int, seconds: int, out: Path, *, idle: bool) -> subprocess.Popen[bytes]:
    mode = ["--idle"] if idle else ["--gil"]
    exe = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(exe if exe.exists() else "py-spy"), "record", "--pid", str(pid), "--duration", str(seconds),
         "--rate", "100", "--format", "raw", "--nonblocking", "--output", str(out), *mode],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run(url: str, data: DemoData, *, root: Path, users: int, seconds: int, postgres_pid: int | None,
        seed: int, say: Any = print) -> Section:
    """Run the concurrency benchmark against the warehouse at ``url``."""
    from bench.render import Server

    locust = locust_exe(root, say)
    work = root / "concurrency"
    work.mkdir(parents=True, exist_ok=True)
    updates = work / "updates.json"
    updates.write_text(json.dumps(prepare_updates(url, data, 300, seed)))
    user, password = bench_user(url)  # each locust user logs in with it (a new password each run)
    profile_s = max(3, seconds - 6)
    say(f"concurrency: {users} users, no think time, {seconds} s; py-spy on one worker {profile_s} s")
    with Server(url) as server:
        workers = [p.pid for p in psutil.Process(server.proc.pid).children()]
        before = {"server": _cpu(server.proc.pid), "postgres": _cpu(postgres_pid)}
        began = time.perf_counter()
        prefix = work / "locust"
        runner = subprocess.Popen(
            [str(locust), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
             "-t", f"{seconds}s", "--host", server.base, "--csv", str(prefix), "--only-summary",
             "--loglevel", "WARNING"],
            env=dict(os.environ, BW_UPDATES=str(updates), BW_USER=user, BW_PASSWORD=password),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        time.sleep(3)  # past the ramp-up
        spies = {kind: (_py_spy(workers[0], profile_s, work / f"profile-{kind}.txt", idle=kind == "wall"),
                        work / f"profile-{kind}.txt") for kind in ("wall", "cpu")}
        locust_cpu = 0.0
        try:
            proc = psutil.Process(runner.pid)
            while runner.poll() is None:
                locust_cpu = max(locust_cpu, tree_cpu_s(proc))
                time.sleep(0.5)
        except psutil.Error:
            pass
        output = runner.communicate()[0].decode(errors="replace")
        elapsed = time.perf_counter() - began
        for spy, _ in spies.values():
            spy.wait(timeout=seconds + 30)
        used = {"server": _cpu(server.proc.pid) - before["server"],
                "postgres": _cpu(postgres_pid) - before["postgres"], "locust": locust_cpu}
    if runner.returncode not in (0, 1):  # 1: some requests failed (reported below)
        raise RuntimeError(f"locust failed ({runner.returncode}): {output[-2000:]}")
    profiles = {kind: summarise_profile(path.read_text()) if path.exists() else ({}, [], 0)
                for kind, (_, path) in spies.items()}
    return _section(users, seconds, elapsed, _stats(prefix), profiles, used, len(workers))


def _section(users: int, seconds: int, elapsed: float, stats: list[dict[str, str]],
             profiles: dict[str, tuple[dict[str, int], list[tuple[str, int]], int]],
             used: dict[str, float], workers: int) -> Section:
    rows = []
    overall: dict[str, str] = {}
    for s in stats:
        if s["Name"] == "Aggregated":
            overall = s
        rows.append([s["Name"], s["Request Count"], s["Failure Count"], f"{float(s['Requests/s']):.1f}",
                     f"{s['50%']} ms", f"{s['95%']} ms", f"{s['99%']} ms"])
    cores = psutil.cpu_count() or 1
    share = [[name, f"{cpu:.0f} CPU-s", f"{cpu / elapsed:.2f} of {cores}"] for name, cpu in used.items()]
    parts = [
        f"## Concurrency: {users} clients without think time\n",
        f"`borderwatch serve` ({workers} gunicorn workers × 4 threads) against the benchmark "
        f"warehouse; locust 2.47.0 ({users} users, each replaying random map updates: 3 callbacks "
        f"and 4 reference layers, one after the other, no pause), {seconds} s.\n",
        table(["request", "count", "failed", "req/s", "p50", "p95", "p99"], rows), "",
        "Where the cores went (CPU seconds during the run):\n",
        table(["process tree", "CPU", "cores used"], share), "",
    ]
    for kind, title in (("wall", "Wall time of one worker's threads (py-spy --idle: waiting included)"),
                        ("cpu", "Python CPU of one worker (py-spy --gil: the thread holding the GIL)")):
        by_activity, top, total = profiles[kind]
        busy = total - by_activity.get(IDLE, 0)
        if not busy:
            parts.append(f"{title}: no samples of a busy thread.\n")
            continue
        parts += [f"{title}: {total:,} samples, {busy / total:.0%} of them serving a request; "
                  "shares of those:\n",
                  table(["activity", "share"], [[a, f"{n / busy:.0%}"] for a, n in
                                                sorted(by_activity.items(), key=lambda kv: -kv[1])
                                                if a != IDLE]), ""]
        if kind == "cpu":
            parts += ["Functions with the most own samples (GIL holder):\n",
                      table(["function", "share"], [[f"`{f[:90]}`", f"{n / total:.1%}"] for f, n in top]), ""]
    p95 = overall.get("95%", "?")
    targets = [Target(f"{users} concurrent clients: p95 of every request", "report (issue 9 item 5)",
                      f"{p95} ms at {float(overall.get('Requests/s', 0) or 0):.1f} req/s", None)]
    data = {"users": users, "seconds": seconds, "elapsed": elapsed, "stats": stats, "cpu": used,
            "profiles": {k: {"by_activity": v[0], "top": v[1], "samples": v[2]} for k, v in profiles.items()}}
    return Section(key="concurrency", markdown="\n".join(parts), targets=targets, data=data)
