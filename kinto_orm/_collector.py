"""Python's cyclic garbage collector paused over a burst of allocations.

The collector runs a pass every 700 or so container objects made, and each pass walks the
objects made since the last one. A page turned into models, or a slice of a DataFrame's
rows validated into models, makes thousands of them in one call, none of which can form
a cycle that must be freed at once: the passes they trigger find nothing, and were most
of the time (a page: 3.0 -> 2.5 us a record; 1,000 DataFrame rows in a fresh process:
66 -> 6 ms). The collector runs as usual right after the block.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off within the block; left alone when it is already off (by
    the user, or by another thread's pause, which turns it back on)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
