"""The container's entry command works outside Docker: gunicorn serves the dashboard.

Docker cannot run on the build machines, so this runs the Dockerfile's own CMD (with the bind
address moved to a free loopback port) against the test warehouse.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from sqlalchemy import Engine

from etl.settings import PROJECT_ROOT


def _dockerfile_cmd() -> list[str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])\s*$", text, flags=re.M)
    assert match, "Dockerfile has no exec-form CMD"
    return list(json.loads(match.group(1)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dockerfile_cmd_serves_the_dashboard(engine: Engine) -> None:
    cmd = _dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    port = _free_port()
    cmd = [str(Path(sys.executable).parent / "gunicorn"), *cmd[1:]]
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
    env["BORDERWATCH_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    body = r.read().decode()
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        output = proc.stdout.read() if proc.poll() is not None and proc.stdout else ""
        assert body, f"gunicorn did not answer; output:\n{output}"
        assert json.loads(body)["database"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200 and "borderwatch" in r.read().decode().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_compose_wires_db_migrate_and_dashboard() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert services["migrate"]["command"] == ["borderwatch", "db", "migrate"]
    assert services["dashboard"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    url = services["dashboard"]["environment"]["BORDERWATCH_DATABASE_URL"]
    assert "@db:5432/" in url
    assert "pgdata" in compose["volumes"]
