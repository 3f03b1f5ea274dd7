"""Small timing helpers: percentiles and a stopwatch."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between ranks."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Latency figures in milliseconds of samples taken in seconds."""
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p95_ms": round(percentile(samples, 95) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
        "min_ms": round(min(samples) * 1000, 3),
        "max_ms": round(max(samples) * 1000, 3),
    }


def timed(fn: Callable[[], Any], collect: bool = True) -> tuple[float, Any]:
    """Run ``fn`` once and time it. ``collect`` first empties the young
    generations of the garbage collector (untimed, and cheap: not a full
    collection) so that neither side pays for the other's garbage; the
    collections ``fn`` itself triggers are timed, as they would be in a worker."""
    if collect:
        gc.collect(1)
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")
