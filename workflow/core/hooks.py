"""How the reform areas plug into the core, without the core importing them.

The core names the moments an area may care about; an area declares, at import,
a *guard* for a moment (a check that may refuse the change by raising a
``workflow.kernel.errors`` error; it runs before anything changes) or a
*consequence* (work done in the same transaction after the change). The
operation runs them at that moment, in the order the areas were installed.

``workflow.zone`` imports every area of the zone and then marks the hooks
installed; running a moment before that is a programming error (an operation
would silently skip the areas' rules), so it raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# moment -> (kind, what its callables receive)
MOMENTS: dict[str, tuple[str, str]] = {
    "project.sign": ("guard", "(session, project): before an intention is signed (签约)"),
    "project.produce": ("guard", "(session, project): before a project advances to producing"),
    "project.mandated": ("consequence", "(session, project, *, actor, now): after the mandate "
                                        "created the project's tasks"),
    "task.complete": ("guard", "(session, task): before an item task completes"),
}

_registered: dict[str, list[Callable[..., Any]]] = {moment: [] for moment in MOMENTS}
_installed = False


def _register(kind: str, moment: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if moment not in MOMENTS:
        raise ValueError(f"Unknown moment {moment!r}; the core offers {sorted(MOMENTS)}.")
    if MOMENTS[moment][0] != kind:
        raise ValueError(f"{moment!r} takes a {MOMENTS[moment][0]}, not a {kind}.")

    def plug(fn: Callable[..., Any]) -> Callable[..., Any]:
        if fn not in _registered[moment]:
            _registered[moment].append(fn)
        return fn
    return plug


def guard(moment: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check the core runs before ``moment``."""
    return _register("guard", moment)


def consequence(moment: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare work the core does after ``moment``, in the same transaction."""
    return _register("consequence", moment)


def mark_installed() -> None:
    global _installed
    _installed = True


def plugged(moment: str) -> tuple[Callable[..., Any], ...]:
    """What the areas plugged into ``moment`` (for the architecture test)."""
    return tuple(_registered[moment])


def run(moment: str, *args: Any, **kwargs: Any) -> None:
    """Run every guard or consequence plugged into ``moment``."""
    if not _installed:
        raise RuntimeError("The reform areas are not installed: import workflow.zone "
                           "before running operations.")
    for fn in _registered[moment]:
        fn(*args, **kwargs)
