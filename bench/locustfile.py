"""locust scenario of the concurrency benchmark (``bench/concurrency.py`` runs it).

Each user replays map updates as a browser sends them after panning or filtering the
situation map: the incidents, hotspots and feed callbacks (``POST /_dash-update-component``)
and the reference layers (``GET /api/layers/...``), one after the other, with no think time.
The updates (random viewports and filters, prepared by the benchmark) come from the JSON file
named by ``BW_UPDATES``; each user first logs in as ``BW_USER`` with ``BW_PASSWORD``. Runs in
its own venv (locust needs urllib3 2; the project's browser tests pin urllib3 1.26), so it
imports nothing from borderwatch.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, task

UPDATES = json.loads(open(os.environ["BW_UPDATES"], encoding="utf-8").read())  # noqa: SIM115
HEADERS = {"Accept-Encoding": "gzip, deflate, br, zstd", "Content-Type": "application/json"}


class MapUser(HttpUser):
    """A coordination-centre screen moving the map without pause."""

    def on_start(self) -> None:
        """Log in once (``BW_USER``, ``BW_PASSWORD``): the session cookie serves every request."""
        answer = self.client.post("/login", data={"username": os.environ["BW_USER"],
                                                  "password": os.environ["BW_PASSWORD"]},
                                  headers={"Accept": "application/json"}, name="login")
        if answer.status_code != 200:
            raise RuntimeError(f"the benchmark user could not log in ({answer.status_code})")

    @task
    def update(self) -> None:
        for request in random.choice(UPDATES):
            if request["method"] == "POST":
                self.client.post(request["path"], data=request["body"], headers=HEADERS,
                                 name=request["name"])
            else:
                self.client.get(request["path"], headers=HEADERS, name=request["name"])
