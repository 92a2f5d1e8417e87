"""How a load allocates memory, so that its peak stays within the bound of issue 8 (500 MB at
1M, 3M and 6M rows; ``make bench`` measures it).

Two allocators kept freed memory instead of giving it back to the system:

- Arrow's default allocator (mimalloc) keeps the memory of freed arrays for reuse: a load's
  peak was 475 MiB at 1M rows and 485 MiB at 3M. Arrow uses the system allocator instead
  (402 MiB at 1M, and the load was no slower).
- glibc raises its mmap threshold each time a large block is freed, up to 32 MiB, after which
  blocks of that size come from the heap, which rarely shrinks. The Arrow CSV reader's blocks
  and the chunks' arrays then piled up: reading the 1M file alone peaked at 419 MiB, at 237
  MiB with the threshold fixed at glibc's default of 128 KiB (which also stops the raising);
  a first load of 1M rows at 590 MiB, at 404 to 409 MiB fixed. (jemalloc for Arrow instead:
  451 to 457 MiB; the load times of the three set-ups were within the machine's noise.)
"""

from __future__ import annotations

import ctypes

import pyarrow as pa

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
_MMAP_THRESHOLD = 128 * 1024


def bound_the_heap() -> None:
    """Make freed memory go back to the system (idempotent; a no-op without glibc). Called by
    every file load (``etl.pipeline``); other jobs keep the defaults."""
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):
        return  # no mallopt (macOS), or no CDLL(None) (Windows): nothing to fix
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)  # returns 0 where not understood (musl)
