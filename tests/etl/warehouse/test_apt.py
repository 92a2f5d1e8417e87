"""make's apt-get waits for another apt run instead of failing with exit 100.

apt runs against a private, empty package world (its own status file, lists, caches and lock
files under tmp_path), so nothing on the machine is read, changed or locked; the test holds
the private lock the way another apt run would (an fcntl lock) and lets go after a while.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from etl.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("apt-get") is None or os.geteuid() != 0, reason="needs apt-get, as root"
)
HOLD_S = 2.0


def _make_apt() -> str:
    """The Makefile's own ``$(APT)`` command line."""
    res = subprocess.run(
        ["make", "--no-print-directory", "-s", "-C", str(PROJECT_ROOT),
         "--eval", "print-apt: ; @echo $(APT)", "print-apt"],
        capture_output=True, text=True, check=True,
    )
    return res.stdout.strip()


def _private_world(root: Path) -> str:
    for d in ("dpkg", "lists/partial", "parts", "cache/archives/partial"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "dpkg" / "status").touch()
    (root / "sources.list").touch()
    return " ".join(f"-o {k}={v}" for k, v in {
        "Dir::State::status": root / "dpkg" / "status",
        "Dir::State::Lists": root / "lists",
        "Dir::Etc::sourcelist": root / "sources.list",
        "Dir::Etc::sourceparts": root / "parts",
        "Dir::Cache": root / "cache",
    }.items())


def _held_for(path: Path, seconds: float) -> threading.Timer:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    timer = threading.Timer(seconds, os.close, args=(fd,))
    timer.start()
    return timer


@pytest.mark.parametrize(("lock", "action"), [
    ("dpkg/lock-frontend", "autoremove -y -qq"),  # what install takes: the dpkg frontend lock
    ("lists/lock", "update -qq"),  # apt-get update's lock (no DPkg::Lock::Timeout for it)
])
def test_make_apt_waits_for_a_lock_held_by_another_apt_run(tmp_path: Path, lock: str,
                                                           action: str) -> None:
    options = _private_world(tmp_path)
    command = f"{_make_apt()} {options} {action}"
    timer = _held_for(tmp_path / lock, HOLD_S)
    began = time.monotonic()
    try:
        res = subprocess.run(["sh", "-c", command], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=120)
    finally:
        timer.join()
    assert res.returncode == 0, f"{command}\n{res.stdout}\n{res.stderr}"
    assert time.monotonic() - began >= HOLD_S * 0.9  # it waited, it did not skip the lock
