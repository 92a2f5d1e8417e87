"""First-render benchmark (issue 5): the situation page with all layers in headless Chromium.

The dashboard runs as ``borderwatch serve`` (gunicorn; what ``make run`` starts) on a free port
against the benchmark warehouse. Chromium (selenium 4.2, ``/usr/bin/chromedriver``,
``--headless --no-sandbox``, 1920x1080) opens the page for the last 90 days of the data with
all five layers on. A probe injected before any page script counts the features drawn in each
layer's Leaflet pane and the fetch/XHR requests in flight; the page is *rendered* when every
layer shows features, no request is pending and nothing changed for ``SETTLE_MS``. The render
time is the moment of the last change (feature count or finished request), measured from the
start of navigation (``performance.now()``). One cold load (new browser, empty cache), then
``warm`` reloads in the same browser.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from bench.data import DemoData, borderwatch_exe
from bench.env import SECRET_KEY, bench_user
from bench.measure import Summary, tree_cpu_s
from bench.report import Section, Target, ms, table

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
WINDOW = (1920, 1080)
SETTLE_MS = 1000
TIMEOUT_S = 120.0
#: Layer -> Leaflet pane (``dashboard/components/situation_map.py``).
PANES = {"basemap": "bw-basemap", "sections": "bw-sections", "bcps": "bw-bcps",
         "incidents": "bw-incidents", "density": "bw-density", "patrol": "bw-patrol"}
LAYERS = "sections,bcps,incidents,density,patrol"
Say = Callable[[str], None]

PROBE = """
(function () {
  var panes = %(panes)s, settle = %(settle)d;
  var st = window.__bwProbe = {inflight: 0, requests: 0, lastNet: 0, lastChange: 0,
                               firstAll: null, ready: null, counts: {}, key: ""};
  function done() { st.inflight--; st.lastNet = performance.now(); }
  var origFetch = window.fetch;
  window.fetch = function () {
    st.inflight++; st.requests++;
    return origFetch.apply(this, arguments).then(function (r) {
      var c = r.clone(); c.arrayBuffer().then(done, done); return r;
    }, function (e) { done(); throw e; });
  };
  var origSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function () {
    st.inflight++; st.requests++;
    this.addEventListener("loadend", done);
    return origSend.apply(this, arguments);
  };
  function tick() {
    var counts = {}, all = true;
    Object.keys(panes).forEach(function (k) {
      var el = document.querySelector(".leaflet-" + panes[k] + "-pane");
      var n = el ? el.querySelectorAll("path, .leaflet-marker-icon").length : 0;
      counts[k] = n; if (!n) { all = false; }
    });
    var key = JSON.stringify(counts), now = performance.now();
    if (key !== st.key) { st.key = key; st.counts = counts; st.lastChange = now; }
    if (all && st.firstAll === null) { st.firstAll = now; }
    var last = Math.max(st.lastChange, st.lastNet);
    if (all && st.inflight === 0 && st.ready === null && now - last >= settle) {
      st.ready = last;
    }
  }
  setInterval(tick, 20);
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``borderwatch serve`` on a free loopback port, stopped on exit."""

    def __init__(self, url: str) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-serve-", suffix=".log", delete=False)
        env = dict(os.environ, BORDERWATCH_DATABASE_URL=url, BORDERWATCH_HOST="127.0.0.1",
                   BORDERWATCH_PORT=str(self.port), BORDERWATCH_SECRET_KEY=SECRET_KEY)
        self.proc = subprocess.Popen([borderwatch_exe(), "serve"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"borderwatch serve exited: {self.tail()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"borderwatch serve did not answer in {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    def __enter__(self) -> Server:
        self.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)  # Ctrl+C: gunicorn's quick shutdown
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        Path(self.log.name).unlink(missing_ok=True)


def _browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={profile}",
                "--disable-extensions", "--no-first-run"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    import json

    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": PROBE % {"panes": json.dumps(PANES), "settle": SETTLE_MS}})
    return driver


def _login(driver: Any, base: str, name: str, password: str) -> None:
    """Log the browser in through the login page (it loads none of the app's scripts)."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/login?next=/healthz")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "bw-login-submit").click()
    deadline = time.monotonic() + 30
    # the path, not the URL's end: the login page's own URL (/login?next=/healthz) ends with
    # /healthz too, and the cold load then raced the login's redirect (it drew nothing, once)
    while urlsplit(driver.current_url).path != "/healthz":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the benchmark user could not log in: {driver.current_url}")
        time.sleep(0.1)


def _load(driver: Any, url: str) -> dict[str, Any]:
    """Navigate and wait for the probe's verdict; its figures in milliseconds."""
    driver.get(url)
    deadline = time.monotonic() + TIMEOUT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = driver.execute_script("return window.__bwProbe || {}") or {}
        if state.get("ready") is not None:
            break
        time.sleep(0.1)
    nav = driver.execute_script(
        "var n = performance.getEntriesByType('navigation')[0] || {};"
        "return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
        " bytes: performance.getEntriesByType('resource').reduce("
        "  function (s, r) { return s + (r.transferSize || 0); }, n.transferSize || 0),"
        " resources: performance.getEntriesByType('resource').length};")
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return {"ready": state.get("ready"), "first_all": state.get("firstAll"),
            "counts": state.get("counts", {}), "requests": state.get("requests"),
            "dcl": nav.get("dcl"), "load": nav.get("load"), "bytes": nav.get("bytes"),
            "resources": nav.get("resources"), "console_errors": [e["message"] for e in errors]}


def run(url: str, data: DemoData, *, warm: int = 5, say: Say = print) -> Section:
    """Serve the dashboard on the warehouse at ``url`` and time the first render."""
    start = data.last_day - timedelta(days=89)
    query = f"/?from={start}&to={data.last_day}&layers={LAYERS}"
    loads: list[dict[str, Any]] = []
    with Server(url) as server, tempfile.TemporaryDirectory(prefix="bench-chrome-") as profile:
        say(f"render: {server.base}{query} in headless Chromium ...")
        driver = _browser(profile)
        try:
            _login(driver, server.base, *bench_user(url))
            for i in range(1 + warm):
                result = _load(driver, server.base + query)
                result["cache"] = "cold" if i == 0 else "warm"
                if result["ready"] is None:  # keep what the server said, for the diagnosis
                    result["server_log"] = server.tail()
                loads.append(result)
                ready = result["ready"]
                say(f"  {result['cache']}: " + (f"{ready / 1000:.2f} s" if ready is not None
                                                 else f"NOT rendered in {TIMEOUT_S:.0f} s")
                    + f", features {result['counts']}")
        finally:
            browser_cpu = _browser_cpu(driver)
            driver.quit()
    section = _section(data, query, loads)
    section.data["browser_cpu_s"] = browser_cpu
    return section


def _browser_cpu(driver: Any) -> float:
    """CPU seconds of chromedriver and Chromium so far (they are not waited for by us, so
    the contention figures would otherwise count them as other work)."""
    try:
        return tree_cpu_s(psutil.Process(driver.service.process.pid))
    except (AttributeError, psutil.Error):
        return 0.0


def _section(data: DemoData, query: str, loads: list[dict[str, Any]]) -> Section:
    def fmt(v: float | None) -> str:
        return "—" if v is None else ms(v / 1000)

    rows = []
    for r in loads:
        counts = ", ".join(f"{k} {v:,}" for k, v in (r.get("counts") or {}).items())
        rows.append([r["cache"], f"**{fmt(r['ready'])}**", fmt(r["first_all"]), fmt(r["dcl"]),
                     fmt(r["load"]), r.get("requests"), f"{(r.get('bytes') or 0) / 1e3:,.0f} kB",
                     counts])
    cold = loads[0]
    warm = [r["ready"] for r in loads[1:] if r["ready"] is not None]
    warm_s = Summary.of([w / 1000 for w in warm])
    errors = sorted({e for r in loads for e in r["console_errors"]})
    lines = [
        f"## First render of the situation page, {data.rows:,} incidents", "",
        "`borderwatch serve` with its defaults (gunicorn, 2 workers × 4 threads; what `make run` "
        "starts) on loopback; headless "
        f"Chromium {WINDOW[0]}×{WINDOW[1]} opens `{query}` (the last 90 days of the data, all "
        "five layers on, default centre and zoom). *Rendered* = every layer (basemap, border "
        "sections, BCPs, incidents, incident density, joint patrol areas) has features drawn in its "
        f"Leaflet pane, no request is in flight and nothing changes for {SETTLE_MS} ms; the time "
        "is that of the last change, from the start of navigation. Cold: new browser profile, "
        "empty cache, first page of the app after logging in through the login page (which "
        "loads none of the app's scripts); warm: reloads in the same browser.", "",
        table(["load", "rendered", "all layers first non-empty", "DOMContentLoaded", "load event",
               "requests", "transferred", "features drawn"], rows), "",
        "Browser console errors: " + ("none." if not errors else
                                      "; ".join(f"`{e[:200]}`" for e in errors)),
    ]
    targets = [
        Target("First render, all layers, cold (headless Chromium)", "report",
               fmt(cold["ready"]), None if cold["ready"] is not None else False),
        Target("First render, warm cache (median of reloads)", "report",
               "—" if not warm else ms(warm_s.p50), None),
    ]
    return Section(key="render", markdown="\n".join(lines), targets=targets,
                   data={"rows": data.rows, "query": query, "loads": loads})
