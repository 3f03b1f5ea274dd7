"""What happens to a demo item, in working days: a ``Plan`` is the steps of
operations on one item task (``work`` builds the usual ones; ``HOLD`` leaves
it in the queue; ``cover`` closes it by a regional evaluation or a
commitment), each timed from the previous one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """One operation on an item: ``gap`` working days after the previous step
    (or after the release, for the first), or at ``at`` working days before
    today if that is later."""

    op: str
    gap: int = 0
    at: int | None = None
    arg: Any = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    finish_at: int | None = None  # shift the whole plan so its last step falls here


def work(days: int, *, claim: int | None = None, by: str = "claim",
         materials: tuple[int, int | None] | None = None, returned: int | None = None,
         extension: tuple[int, int, bool | None] | None = None,
         handoff: int | None = None, reassign: int | None = None,
         until: str = "complete", finish_at: int | None = None,
         materials_at: int | None = None, extension_at: int | None = None) -> Plan:
    """An item worked through in about ``days`` working days.

    ``materials=(after, supplied_after)``: 一次性告知 ``after`` days into the
    work; supplied ``supplied_after`` days later (None: still awaited).
    ``returned``: the department sends it back that many days after
    submission. ``extension=(after, days, approved)``: an extension request
    ``after`` days into the work, decided a day later (None: still pending).
    ``until`` stops the plan after that operation (``start``, ``submit``, …).
    ``finish_at``, ``materials_at``, ``extension_at`` pin a step to a ``t``
    (working days before today) when it would otherwise come earlier.
    """
    claim = (1 if days >= 4 else 0) if claim is None else claim
    submit = max(claim, days * 6 // 10)
    steps: list[tuple[int, Step]] = [(claim, Step(by)), (claim, Step("start"))]
    if handoff is not None:
        steps.append((claim + handoff, Step("handoff")))
    if reassign is not None:
        steps.append((claim + reassign, Step("reassign")))
    shift = 0
    if materials is not None:
        after, supplied = materials
        # The enterprise gets a few working days beyond the day it will supply them.
        deadline = 10 if supplied is None else supplied + 5
        steps.append((claim + after, Step("request_materials", at=materials_at, arg=deadline)))
        if supplied is None:
            return _plan(steps, finish_at)
        shift = supplied
        steps.append((claim + after + supplied, Step("supply_materials")))
    if extension is not None:
        after, n, approved = extension
        steps.append((claim + after + shift, Step("request_extension", arg=n, at=extension_at)))
        if approved is not None:
            steps.append((claim + after + shift + 1, Step("decide_extension", arg=approved)))
    steps.append((submit + shift, Step("submit")))
    if returned is not None:
        steps.append((submit + shift + returned, Step("department_return")))
        steps.append((submit + shift + returned + 1, Step("rework")))
        shift += returned + 2
        steps.append((submit + shift, Step("submit")))
    steps.append((max(submit, days - 1) + shift, Step("approve")))
    steps.append((max(submit, days) + shift, Step("complete")))
    if until != "complete":
        names = [s.op for _, s in steps]
        steps = steps[: len(names) - names[::-1].index(until)]
    return _plan(steps, finish_at)


def _plan(timed: list[tuple[int, Step]], finish_at: int | None) -> Plan:
    timed = sorted(timed, key=lambda pair: pair[0])  # stable: same-day steps keep their order
    steps, previous = [], 0
    for offset, step in timed:
        steps.append(Step(step.op, gap=offset - previous, at=step.at, arg=step.arg))
        previous = offset
    return Plan(tuple(steps), finish_at)


HOLD = Plan(())  # released and left in the group's queue


def cover(kind: str, gap: int = 0) -> Plan:
    return Plan((Step("cover", gap=gap, arg=kind),))
