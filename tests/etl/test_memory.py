"""etl.memory: freed memory goes back to the system during a load (the peak-memory bound)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_SCRIPT = """
import resource, sys
import numpy as np
if sys.argv[1] == "bounded":
    from etl import memory
    memory.bound_the_heap()
import pyarrow as pa
def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
np.ones(1 << 17).sum()  # one freed 1 MiB block: glibc would now take such blocks from its heap
before = rss_mib()
blocks = [np.ones(1 << 17) for _ in range(200)]  # 200 x 1 MiB, touched
last = blocks.pop()
del blocks  # all freed but the newest, which sits on top of the heap if it came from there
print(pa.default_memory_pool().backend_name, round(rss_mib() - before))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_blocks_go_back_to_the_system() -> None:
    def run(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True,
                             text=True, check=True).stdout.split()
        return out[0], int(out[1])

    pool, kept = run("bounded")
    assert pool == "system" and kept < 20
    _, kept_unbounded = run("default")
    assert kept_unbounded > 150  # the test sees the difference (glibc's dynamic threshold)
