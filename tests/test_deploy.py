"""The container's entry command works outside Docker: gunicorn serves the dashboard.

Docker cannot run on the build machines, so this runs the Dockerfile's own CMD (with the bind
address moved to a free loopback port) against the test warehouse.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml
from sqlalchemy import Engine

from etl.settings import PROJECT_ROOT
from tests.support import clean_env, free_port, wait_for_http


def _dockerfile_cmd() -> list[str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])\s*$", text, flags=re.M)
    assert match, "Dockerfile has no exec-form CMD"
    return list(json.loads(match.group(1)))


def test_dockerfile_cmd_serves_the_dashboard(engine: Engine) -> None:
    cmd = _dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "gunicorn"), *cmd[1:]]
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = clean_env(BORDERWATCH_DATABASE_URL=engine.url.render_as_string(hide_password=False))
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
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
