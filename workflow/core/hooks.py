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
    "project.signed": ("consequence", "(session, project, *, actor, now): after the project "
                                      "was signed (签约), or registered as signed"),
    "project.advanced": ("consequence", "(session, project, *, actor, now): after the project "
                                        "moved to its next lifecycle stage"),
    "project.agreement": ("consequence", "(session, project, agreement, *, actor, now): after "
                                         "the investment agreement (投资建设协议) was recorded"),
    "project.mandated": ("consequence", "(session, project, *, actor, now): after the mandate "
                                        "created the project's tasks"),
    "project.suspended": ("consequence", "(session, project, *, actor, now, reason): after the "
                                         "project and its open items were suspended (中止)"),
    "project.terminated": ("consequence", "(session, project, *, actor, now, reason, items): "
                                          "after the project ended (终止); ``items`` are the codes "
                                          "of the items this ended"),
    "task.complete": ("guard", "(session, task): before an item task completes"),
    "task.completed": ("consequence", "(session, task, *, actor, now): after an item task "
                                      "completed and released its dependants"),
    "task.act": ("guard", "(session, task, *, actor, event): before a person (not the "
                          "system) moves an item task by ``event``"),
}

# moment -> [(order, callable)], kept sorted by order (then by registration)
_registered: dict[str, list[tuple[int, Callable[..., Any]]]] = {moment: [] for moment in MOMENTS}
_installed = False


def _register(kind: str, moment: str, order: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if moment not in MOMENTS:
        raise ValueError(f"Unknown moment {moment!r}; the core offers {sorted(MOMENTS)}.")
    if MOMENTS[moment][0] != kind:
        raise ValueError(f"{moment!r} takes a {MOMENTS[moment][0]}, not a {kind}.")

    def plug(fn: Callable[..., Any]) -> Callable[..., Any]:
        plugged_now = _registered[moment]
        if all(f is not fn for _, f in plugged_now):
            plugged_now.append((order, fn))
            plugged_now.sort(key=lambda entry: entry[0])  # stable: ties keep their order
        return fn
    return plug


def guard(moment: str, *, order: int = 50) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check the core runs before ``moment`` (lower ``order`` first)."""
    return _register("guard", moment, order)


def consequence(moment: str, *, order: int = 50) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare work the core does after ``moment``, in the same transaction
    (lower ``order`` first: paperwork that records the outcome goes last)."""
    return _register("consequence", moment, order)


def mark_installed() -> None:
    global _installed
    _installed = True


def plugged(moment: str) -> tuple[Callable[..., Any], ...]:
    """What the areas plugged into ``moment`` (for the architecture test)."""
    return tuple(fn for _, fn in _registered[moment])


def run(moment: str, *args: Any, **kwargs: Any) -> None:
    """Run every guard or consequence plugged into ``moment``."""
    if not _installed:
        raise RuntimeError("The reform areas are not installed: import workflow.zone "
                           "before running operations.")
    for _, fn in _registered[moment]:
        fn(*args, **kwargs)
