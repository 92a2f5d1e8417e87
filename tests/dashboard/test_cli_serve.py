"""``borderwatch serve`` runs the dashboard under gunicorn on the configured address."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from sqlalchemy import Engine

from etl.settings import PROJECT_ROOT
from tests.support import clean_env, free_port, wait_for_http


def test_serve_answers_on_the_configured_port(engine: Engine) -> None:
    port = free_port()
    env = clean_env(
        BORDERWATCH_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        BORDERWATCH_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "serve", "--workers", "1"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        assert json.loads(body) == {"database": "ok", "status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Traceback" not in out
