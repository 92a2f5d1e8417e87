"""ruff and mypy are part of the suite: ``make test`` (and so ``.ci/run``) fails on a lint or
type error with the tool's own report, as ``make lint`` does.

mypy keeps its incremental cache in ``var/mypy`` (ignored by git): about 20 s on a clean clone,
under a second once the cache is warm.
"""

from __future__ import annotations

import subprocess
import sys

from etl.settings import PROJECT_ROOT

# ``make lint`` checks the same trees (keep the two in step).
RUFF_PATHS = ["etl", "dashboard", "tests", "bench", "geodata"]
MYPY_PATHS = ["etl", "dashboard", "bench"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # the venv's interpreter runs the pinned tools; the configuration is pyproject.toml's
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", *RUFF_PATHS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    cache = PROJECT_ROOT / "var" / "mypy"
    done = _run("mypy", "--cache-dir", str(cache), *MYPY_PATHS)
    assert done.returncode == 0, done.stdout + done.stderr
