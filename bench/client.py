"""The benchmarks' client of the real server (Flask's test client, in process, no network):
logged in as the benchmarks' admin, calling a page's callbacks as Dash's renderer does, and
the timings of a page's requests over random views after a warm-up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from bench.env import bench_user

#: Rounds run first and not recorded: first connections, first imports, cold caches.
WARMUP = 3


def logged_in(app: Any, url: str, role: str = "admin", country: str | None = None) -> Any:
    """A test client of ``app`` logged in as the benchmarks' user of ``role`` (default: the
    admin; see ``bench.env.bench_user``)."""
    client = app.server.test_client()
    name, password = bench_user(url, role, country)
    answer = client.post("/login", data={"username": name, "password": password},
                         headers={"Accept": "application/json"})
    if answer.status_code != 200:
        raise RuntimeError(f"the benchmark user could not log in ({answer.status_code})")
    return client


class DashClient:
    """Calls the page's callbacks the way Dash's renderer does (``/_dash-update-component``)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        response = client.get("/_dash-dependencies")
        if response.status_code != 200:
            raise RuntimeError(f"/_dash-dependencies answered {response.status_code}")
        self.deps = response.get_json()
        self.wire = 0  # bytes of the last response as sent (compressed)

    def callback(self, output: str) -> dict[str, Any]:
        """The dependency entry whose output includes ``output`` (``id.property``)."""
        for dep in self.deps:
            if output in dep["output"]:
                return dict(dep)
        raise RuntimeError(f"no callback of the page writes {output}; has the page changed?")

    def call(self, dep: dict[str, Any], values: dict[str, Any], changed: list[str]
             ) -> tuple[float, bytes, dict[str, Any]]:
        """POST one callback; (seconds, body, response JSON)."""
        payload = callback_payload(dep, values, changed)
        outputs = payload["outputs"] if isinstance(payload["outputs"], list) else [payload["outputs"]]
        began = time.perf_counter()
        response = self.client.post("/_dash-update-component", json=payload, headers=BROWSER)
        seconds = time.perf_counter() - began
        if response.status_code != 200 and response.status_code != 204:
            raise RuntimeError(f"callback {dep['output']} answered {response.status_code}: "
                               f"{response.data[:300]!r}")
        body = _decoded(response)
        self.wire = len(response.data)
        decoded = json.loads(body) if body else {}
        wanted = {o["id"] for o in outputs}
        answered = set((decoded.get("response") or {}).keys())
        side = decoded.get("sideUpdate") or {}
        if response.status_code == 204 or not wanted & answered or any(
                "alert" in str(key) for key in side):
            alert = json.dumps(side)[:300]
            raise RuntimeError(f"callback {dep['output']} did not answer normally "
                               f"(status {response.status_code}, side updates {alert}); "
                               "see the server log above")
        return seconds, body, decoded

    def get(self, path: str) -> tuple[float, bytes]:
        began = time.perf_counter()
        response = self.client.get(path, headers=BROWSER)
        seconds = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        self.wire = len(response.data)
        return seconds, _decoded(response)


def callback_payload(dep: dict[str, Any], values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    """The body Dash's renderer posts for the callback ``dep`` (a ``/_dash-dependencies``
    entry), with input values by ``id.property``; like the renderer, only the callback's own
    inputs among ``changed`` are named as changed."""
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in dep["output"].strip(".").split("...")
    ]
    if len(outputs) == 1 and "@" in outputs[0]["property"]:
        outputs[0]["property"] = outputs[0]["property"].split("@")[0]

    def filled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    own = {f"{i['id']}.{i['property']}" for i in dep["inputs"]}
    return {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": filled(dep["inputs"]), "state": filled(dep.get("state", [])),
            "changedPropIds": [c for c in changed if c in own]}


#: What Chromium asks for; the server answers compressed (zstd first), as it would the browser.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def _decoded(response: Any) -> bytes:
    """The body as the page reads it (decompressed)."""
    import gzip

    import brotli
    import zstandard

    body = bytes(response.data)
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding == "zstd":
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))
    if encoding:
        raise RuntimeError(f"unexpected Content-Encoding {encoding}")
    return body


@dataclass
class Timings:
    """Server seconds of each kind of request of a page over the rounds after the warm-up,
    and the body size of the kinds in ``sizes`` (the callbacks whose answer is data)."""

    times: dict[str, list[float]]
    sizes: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, kinds: tuple[str, ...], sized: tuple[str, ...] = ()) -> Timings:
        return cls({k: [] for k in kinds}, {k: [] for k in sized})

    def record(self, round_: int, got: dict[str, tuple[float, int]]) -> None:
        """Keep one round's (seconds, bytes) per kind, unless ``round_`` is a warm-up one."""
        if round_ < WARMUP:
            return
        for key, (seconds, size) in got.items():
            self.times[key].append(seconds)
            if key in self.sizes:
                self.sizes[key].append(size)
