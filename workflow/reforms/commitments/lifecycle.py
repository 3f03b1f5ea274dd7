"""The lifecycles of a commitment letter (承诺书) and of a 容缺 promise, as
machines: a status changes only by an event its machine allows, like a task's
state and a project's stage.

Letter: issued → signed (the enterprise signs) or withdrawn (staff, before
signing); a signed letter, or one under rectification, is checked: kept,
rectify (by a date, then checked again), broken, false (虚假承诺).
Promise: open → fulfilled (the materials arrived in time) or expired (the
sweep, after the deadline)."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.kernel.errors import term
from workflow.reforms.commitments.models import COMMITMENT_STATES, GAP_STATES

CHECKABLE = ("signed", "rectifying")

LETTERS = status_machine(term("commitment letter"), COMMITMENT_STATES, [
    {"trigger": "sign", "source": "issued", "dest": "signed"},
    {"trigger": "withdraw", "source": "issued", "dest": "withdrawn"},
    {"trigger": "check_kept", "source": list(CHECKABLE), "dest": "kept"},
    {"trigger": "check_rectify", "source": list(CHECKABLE), "dest": "rectifying"},
    {"trigger": "check_broken", "source": list(CHECKABLE), "dest": "broken"},
    {"trigger": "check_false", "source": list(CHECKABLE), "dest": "false"},
], labels={"sign": term("sign the letter"), "withdraw": term("withdraw the letter"),
           "check_kept": term("record the check (kept)"),
           "check_rectify": term("order a rectification"),
           "check_broken": term("record a broken commitment"),
           "check_false": term("record a false commitment")})

PROMISES = status_machine(term("容缺 promise"), GAP_STATES, [
    {"trigger": "fulfil", "source": "open", "dest": "fulfilled"},
    {"trigger": "expire", "source": "open", "dest": "expired"},
], labels={"fulfil": term("record the promised materials"), "expire": term("expire the promise")})
