"""What happens to a demo item, in working days: a ``Plan`` is the steps of
operations on one item task (``work`` builds the usual ones, the agent's
preparation on the service clock, then the department's 受理 and decision on
the statutory clock; ``HOLD`` leaves
it in the queue; ``commit`` closes it by a commitment letter the enterprise
signs), each timed from the previous one."""

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
         materials_at: int | None = None, extension_at: int | None = None,
         prep: int | None = None, hold: tuple[int, int | None] | None = None,
         gap: tuple[int, int | None] | None = None) -> Plan:
    """An item worked through in about ``days`` working days, on its two
    clocks: the agent prepares it and submits it ``prep`` days after the claim
    (the service clock; by default about a third of the time, at most 4
    working days: inside the zone's usual promise), the department accepts it
    (受理) the next working day and decides at ``days - 1`` (the statutory
    clock); the result is handed over at ``days``.

    ``materials=(after, supplied_after)``: 一次性告知 ``after`` days into the
    work, while the agent prepares (the preparation lasts past it);
    supplied ``supplied_after`` days later (None: still awaited).
    ``gap=(deadline, supplied_after)``: 容缺受理 when the work starts, the
    missing secondary materials promised ``deadline`` working days later and
    supplied ``supplied_after`` days after the acceptance (None: still
    open, or expired once the deadline has passed).
    ``returned``: the department sends it back that many days after its
    受理; the agent resubmits two days later. ``extension=(after, days,
    approved)``: an extension request ``after`` days into the work, decided a
    day later (None: still pending). ``hold=(after, lasted)``: the department
    stops its clock for an expert review ``after`` days past its 受理 and
    resumes it ``lasted`` days later (None: still on hold). ``until`` stops
    the plan after that operation (``start``, ``submit``, ``accept``, …). ``finish_at``,
    ``materials_at``, ``extension_at`` pin a step to a ``t`` (working days
    before today) when it would otherwise come earlier.
    """
    claim = (1 if days >= 4 else 0) if claim is None else claim
    prep = max(1, min(days * 3 // 10, 4)) if prep is None else prep
    steps: list[tuple[int, Step]] = [(claim, Step(by)), (claim, Step("start"))]
    if handoff is not None:
        steps.append((claim + handoff, Step("handoff")))
    if reassign is not None:
        steps.append((claim + reassign, Step("reassign")))
    if gap is not None:
        deadline, supplied = gap
        steps.append((claim, Step("accept_gaps", arg=deadline)))
        steps.append((claim, Step("sign_promise")))
        if supplied is None:
            return _plan(steps, finish_at)
        steps.append((claim + supplied, Step("fulfil_gap")))
        prep = max(prep, supplied)
    shift = 0
    if materials is not None:
        after, supplied = materials
        prep = max(prep, after + 1)
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
    submit = claim + prep + shift
    accept = submit + (1 if days - submit > 2 else 0)
    steps += [(submit, Step("submit")), (accept, Step("accept"))]
    delay = shift  # the decision moves with the materials' pause, a return, a hold
    if returned is not None:
        steps.append((accept + returned, Step("department_return")))
        steps.append((accept + returned + 1, Step("rework")))
        delay += returned + 2
        submit = accept + returned + 2
        accept = submit + 1
        steps += [(submit, Step("submit")), (accept, Step("accept"))]
    if hold is not None:
        after, lasted = hold
        steps.append((accept + after, Step("department_pause")))
        if lasted is None:
            return _plan(steps, finish_at)
        steps.append((accept + after + lasted, Step("department_resume")))
        delay += lasted
    decide = max(accept, days - 1 + delay)
    steps.append((decide, Step("approve")))
    steps.append((max(decide, days + delay), Step("complete")))
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


def commit(gap: int = 1, *, sign: int | None = 0, check: int = 30, outcome: str = "kept") -> Plan:
    """承诺制: a commitment letter offered ``gap`` working days after the
    release and signed ``sign`` days later (None: still waiting for the
    signature), which completes the item; the department's compliance check
    ``check`` days after the signing finds it ``outcome`` (kept, rectify,
    broken), if that day has come."""
    steps = [Step("offer_letter", gap=gap)]
    if sign is not None:
        steps += [Step("sign_letter", gap=sign), Step("check_letter", gap=check, arg=outcome)]
    return Plan(tuple(steps))
