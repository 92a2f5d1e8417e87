"""apt-get that waits for another apt or dpkg run instead of failing with exit 100.

Two locks can be held by another run: the dpkg frontend lock (``apt-get install``), which apt
itself waits for with ``-o DPkg::Lock::Timeout=N``, and the package lists lock of
``apt-get update``, which has no such option (apt 2.6): that case is retried while apt says
"Could not get lock", until the same deadline.

Standard library only, so that ``make`` can run it with the system Python before the venv
exists (``python3 etl/warehouse/apt.py install -y -qq python3-venv``); ``postgis.py`` uses
``apt_get`` for the embedded cluster's packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

LOCK_WAIT_S = 600
_LOCKED = "Could not get lock"


def apt_get(args: list[str], *, wait_s: float = LOCK_WAIT_S,
            poll_s: float = 2.0) -> subprocess.CompletedProcess[str]:
    """Run ``apt-get ARGS`` (non-interactive), waiting up to ``wait_s`` for the apt locks.

    Returns the last attempt, with its output captured (``stdout``, ``stderr``).
    """
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")  # English: _LOCKED
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        left = max(0, int(deadline - time.monotonic()))
        res = subprocess.run(["apt-get", "-o", f"DPkg::Lock::Timeout={left}", *args],
                             env=env, capture_output=True, text=True)
        if res.returncode == 0 or _LOCKED not in res.stderr or time.monotonic() >= deadline:
            return res
        if not said:
            print("apt-get: another apt run holds its lock; waiting (at most "
                  f"{wait_s:.0f} s) ...", file=sys.stderr, flush=True)
            said = True
        time.sleep(poll_s)


def main(argv: list[str]) -> int:
    """``python3 etl/warehouse/apt.py ARGS``: ``apt-get ARGS``, waiting for the locks."""
    res = apt_get(argv, wait_s=float(os.environ.get("APT_LOCK_WAIT_S", LOCK_WAIT_S)))
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
