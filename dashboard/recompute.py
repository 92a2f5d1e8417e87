"""Recompute the hotspot analysis on demand from the map, by running the command a user would:
``borderwatch analyse hotspots``, in its own process.

The dashboard itself never writes the warehouse: the recorded ETL job does, with its run row,
the load lock and one transaction, exactly as from a terminal. The child gets the warehouse URL
through its environment only. One child at a time per server process; across processes the
job's load lock serialises runs, and :func:`dashboard.queries.hotspots.latest_run` tells the
page whether one is running. The request returns at once; the page polls the run's status.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import Any

from etl.settings import Settings

log = logging.getLogger(__name__)

_KEY = "borderwatch_recompute"


class Recompute:
    """The child process of this server, if any."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.child: subprocess.Popen[bytes] | None = None

    def running(self) -> bool:
        return self.child is not None and self.child.poll() is None


def state(server: Any) -> Recompute:
    """This server's recompute state (kept on the Flask server, not in a module global)."""
    return server.extensions.setdefault(_KEY, Recompute())  # type: ignore[no-any-return]


def command(resolution: int | None, categories: tuple[str, ...]) -> list[str]:
    """The command line of the job: the current analysis' resolution and categories, over the
    default period (the latest weeks)."""
    args = [sys.executable, "-m", "dashboard.cli", "analyse", "hotspots"]
    if resolution is not None:
        args += ["--resolution", str(int(resolution))]
    for c in categories:
        args += ["--category", c]
    return args


def start(server: Any, settings: Settings, resolution: int | None,
          categories: tuple[str, ...]) -> bool:
    """Start the job unless this server already runs one; True when started."""
    job = state(server)
    with job.lock:
        if job.running():
            return False
        env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
        if settings.database_url is not None:
            env["BORDERWATCH_DATABASE_URL"] = settings.database_url.get_secret_value()
        env["BORDERWATCH_DATA_DIR"] = str(settings.data_dir)
        env["BORDERWATCH_LOG_LEVEL"] = "WARNING"
        job.child = subprocess.Popen(  # noqa: S603 - our own command, no shell, fixed arguments
            command(resolution, categories), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        log.info("hotspot recompute started (pid %s)", job.child.pid)
        return True
