"""How the reform areas plug into the core, without the core importing them.

The core names the moments an area may care about; an area declares, at import,
a *guard* for a moment (a check that may refuse the change by raising a
``workflow.kernel.errors`` error; it runs before anything changes) or a
*consequence* (work done in the same transaction after the change). The
operation runs them at that moment, in the order the areas were installed.

``workflow.zone`` imports every area of the zone and then marks the hooks
installed; running a moment before that is a programming error (an operation
would silently skip the areas' rules), so it raises.

Offering an action asks the same guards, as a dry run (``refusal``/``allows``):
a page offers only what the operation would let through, by the one rule. A
guard changes nothing, so running it early is safe; within ``offering`` (one
page's or list's offers) a guard may keep what it looked up in ``remembered``,
and a *preparer* of ``tasks.offer`` may ready a read for a whole list in one query
(``prepare``), made only if a guard asks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from workflow.kernel.errors import WorkflowError

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
    "predictions.stored": ("consequence", "(session, project_ids): after the predictions of "
                                          "these projects were stored anew or dropped "
                                          "(``workflow.core.prediction_store``)"),
    "task.complete": ("guard", "(session, task): before an item task completes"),
    "task.completed": ("consequence", "(session, task, *, actor, now): after an item task "
                                      "completed and released its dependants"),
    "task.act": ("guard", "(session, task, *, actor, event): before a person (not the "
                          "system) moves an item task by ``event``"),
    "tasks.offer": ("preparer", "(session, tasks): before the actions of these tasks (a "
                                "page of a list) are offered; an area reads at once, with "
                                "``prepare``, what its guards will look up for them"),
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


def preparer(moment: str, *, order: int = 50) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a look-up the core runs before offering actions on a list."""
    return _register("preparer", moment, order)


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


# -- offering: the guards as a dry run ------------------------------------------------------

# What the guards looked up during one offering (None: not offering, look it up again).
_memo: ContextVar[dict[Any, Any] | None] = ContextVar("daiban_offer_memo", default=None)


@contextmanager
def offering(session: Any = None, tasks: Sequence[Any] = ()) -> Iterator[None]:
    """The scope of one page's or list's offers: the guards' look-ups are kept
    until it ends (nothing is written meanwhile); with ``tasks``, the areas'
    ``tasks.offer`` preparers ready one read each for the whole list. Nested
    scopes share the outer one."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        if tasks:
            run("tasks.offer", session, list(tasks))
        yield
    finally:
        _memo.reset(token)


def prepare(kind: str, load: Callable[[], dict[Any, Any]]) -> None:
    """While offering, what ``remembered((kind, ...))`` finds: ``load()`` (one
    query for the whole list, returning values by key) is read at the first
    question of that kind, if any is asked; ignored outside an offering."""
    memo = _memo.get()
    if memo is not None:
        memo.setdefault(_LOADERS, {})[kind] = load


_LOADERS = object()  # the memo's key for the loaders not yet read


def remembered(key: tuple[Any, ...], look_up: Callable[[], Any]) -> Any:
    """``look_up()``, kept for ``key`` (``(kind, ...)``) while offering, or read
    with its kind's prepared loader; outside an offering (an operation's own
    guard) always looked up afresh."""
    memo = _memo.get()
    if memo is None:
        return look_up()
    if key not in memo:
        load = memo.get(_LOADERS, {}).pop(key[0], None)
        if load is not None:
            memo.update(load())
    if key not in memo:
        memo[key] = look_up()
    return memo[key]


def refusal(moment: str, *args: Any, **kwargs: Any) -> WorkflowError | None:
    """The refusal the guards of ``moment`` would raise now, or None: a dry run
    of the check the operation makes, to offer only what it would let through."""
    if MOMENTS[moment][0] != "guard":
        raise ValueError(f"{moment!r} is not a guard moment.")
    with offering():
        try:
            run(moment, *args, **kwargs)
        except WorkflowError as error:
            return error
    return None


def allows(moment: str, *args: Any, **kwargs: Any) -> bool:
    return refusal(moment, *args, **kwargs) is None
