"""What the benches share: CPU seconds of a piece of work, the least of a few runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(run: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    """The least CPU seconds of three runs (``before`` each, untimed): a shared machine only
    ever adds time, so the least is the nearest to the work's own cost."""
    timings = []
    for _ in range(3):
        before()
        start = time.process_time()
        run()
        timings.append(time.process_time() - start)
    return min(timings)
