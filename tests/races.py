"""Two jobs at once on a real database: the harness of the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(factory, work: Callable, *, n: int = 2, info: dict | None = None) -> list[object]:
    """Run ``work(session)`` in ``n`` threads released together, each in its
    own session from ``factory`` (with ``info``), committing what it did; the
    result of each, or the exception it raised (rolled back)."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(index):
        session = factory(info=info) if info is not None else factory()
        try:
            barrier.wait(timeout=10)
            results[index] = work(session)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - returned for the test's assertion
            session.rollback()
            results[index] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
