"""Pause Python's cyclic garbage collector while one bounded batch is stored.

Storing a batch allocates tens of thousands of short-lived containers (rows, parameter
dicts, result tuples) and keeps thousands alive until it commits. Each of those
allocations counts towards a collection, and every collection walks the surviving
objects again: measured on ``bench/ingest.py`` that was a quarter of ingest time, while
reference counting alone frees almost everything the batch made. A batch is bounded
(a page or a chunk of an import), so pausing the collector for its duration is safe.

This only switches the collector off and back on; the process's thresholds are never
changed. Nested or concurrent pauses in other threads are harmless: whichever pause
found the collector enabled turns it back on when it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
