"""Agency paperwork (DB14/T 2233—2020 政务服务帮(代)办服务规范).

Five documents accompany the full agency service (全代办): the mandate
(代办服务委托书) that starts it and lists the items in scope, the suspension
slip (中止单), the termination slip (终止单), the continuation mandate
(续办委托书: a handoff to another agent or a change of scope) and the
completion slip (办结单: the results handed over, for the items in scope).

Each document is a snapshot of the project's data at issue time, stored in
``AgencyDocument.data`` with the SHA-256 of its canonical JSON, so it prints
the same forever and an edited row is detectable. Numbers run per kind and
year without gaps (左开代委〔2026〕0001号): the next number is the highest
committed one plus one, and a concurrent transaction that took the same number
first makes the insert fail on the unique index, which is retried with the
next one. A number taken by a transaction that rolls back is never committed,
so no gap opens.

The mandate and a change of its scope are the enterprise's to sign (帮办代办不包办):
they wait for its answer, given in the portal or on paper, and agents act on
the items only within the signed scope (``signing``: the answer, the scope in
force and the guard every task step passes).

Mandating, suspending and terminating a project issue their document inside
the engine operation itself (``workflow.core.operations`` runs this area's
consequences), so there is no way to make the change without its paperwork.

The code lives in the package's modules: ``paperwork`` (numbers, snapshots,
the signed text, the insert), ``issuing`` (each kind of document) and
``signing`` (the enterprise's answer and the guard); their public names are
re-exported here, and importing the package plugs its hooks into the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from workflow.core import hooks
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel.errors import InvalidTransition
from workflow.kernel.models import User
from workflow.reforms.documents.issuing import (
    CLOSED_OK,
    change_scope,
    current_access_code,
    current_scope,
    get_document,
    handoff_with_continuation,
    in_scope,
    issue_completion,
    issue_document,
    results_of,
    user_by_username,
)
from workflow.reforms.documents.issuing import mandate as _mandate
from workflow.reforms.documents.issuing import suspension as _suspension
from workflow.reforms.documents.issuing import termination as _termination
from workflow.reforms.documents.models import AgencyDocument
from workflow.reforms.documents.paperwork import (
    NUMBER_PREFIX,
    STANDARD,
    TITLES,
    canonical_json,
    content_hash,
    document_text,
    documents_of,
    next_number,
    number_head,
    signs,
    snapshot,
    verify,
)
from workflow.reforms.documents.signing import (
    ACTING_EVENTS,
    awaiting,
    decline_document,
    record_paper_signature,
    require_signed_mandate,
    sign_document,
    signed_scope,
)

__all__ = [
    "ACTING_EVENTS",
    "CLOSED_OK",
    "NUMBER_PREFIX",
    "STANDARD",
    "TITLES",
    "awaiting",
    "canonical_json",
    "change_scope",
    "content_hash",
    "current_access_code",
    "current_scope",
    "decline_document",
    "document_text",
    "documents_of",
    "get_document",
    "handoff_with_continuation",
    "in_scope",
    "issue_completion",
    "issue_document",
    "mandate_with_document",
    "next_number",
    "number_head",
    "record_paper_signature",
    "require_signed_mandate",
    "results_of",
    "sign_document",
    "signed_scope",
    "signs",
    "snapshot",
    "suspend_with_slip",
    "terminate_with_slip",
    "user_by_username",
    "verify",
]


# -- the lifecycle with its paperwork -----------------------------------------------------
#
# One door: the engine's own operations (``ops.mandate_project``,
# ``suspend_project``, ``terminate_project``) issue the document, through these
# consequences, in the same transaction, whoever calls them (a page, the API,
# the CLI, a sweep). They run after the other areas' consequences (order 90),
# so the document records what those left (items a parcel covered at mandate).

@hooks.consequence("project.mandated", order=90)
def _on_mandate(session: Session, project: Project, *, actor: User | None,
                now: datetime) -> None:
    if not documents_of(session, project.id, "mandate"):
        _mandate(session, project, actor=actor, now=now)


def _mandated(session: Session, project: Project) -> bool:
    """The paperwork follows the mandate: a project that never signed one (an
    intention dropped, a project stopped before its mandate) gets no slip."""
    return bool(documents_of(session, project.id, "mandate")) or bool(project.tasks)


@hooks.consequence("project.suspended", order=90)
def _on_suspend(session: Session, project: Project, *, actor: User | None, now: datetime,
                reason: str) -> None:
    if _mandated(session, project):
        _suspension(session, project, actor=actor, now=now, reason=reason)


@hooks.consequence("project.terminated", order=90)
def _on_terminate(session: Session, project: Project, *, actor: User | None, now: datetime,
                  reason: str, items: Iterable[str]) -> None:
    if _mandated(session, project):
        _termination(session, project, actor=actor, now=now, reason=reason, terminated=items)


def _require_mandated(session: Session, project_id: int) -> None:
    project = ops.lock_project(session, project_id)
    if not _mandated(session, project):
        raise InvalidTransition("Project {project} has no mandate, so no slip is issued; "
                                "suspend or terminate it without one.", state=project.stage,
                                project=project.code)


def _latest(session: Session, project_id: int, kind: str) -> AgencyDocument:
    return documents_of(session, project_id, kind)[-1]


def mandate_with_document(session: Session, project_id: int, *, actor: User | None,
                          now: datetime, begin: bool = False) -> AgencyDocument:
    """The lead side issues the mandate: the project is mandated (one task per
    item) and the 代办服务委托书 listing every item waits for the enterprise's
    signature, which begins the approvals (``begin`` starts them at once; the
    agents still act only once it is signed)."""
    ops.mandate_project(session, project_id, actor=actor, now=now, begin=begin)
    return _latest(session, project_id, "mandate")


def suspend_with_slip(session: Session, project_id: int, *, reason: str, actor: User | None,
                      now: datetime) -> AgencyDocument:
    """中止: the project and every open item stop, every clock pauses, and the
    suspension slip records the reason and the items paused."""
    _require_mandated(session, project_id)
    ops.suspend_project(session, project_id, actor=actor, now=now, reason=reason)
    return _latest(session, project_id, "suspension")


def terminate_with_slip(session: Session, project_id: int, *, reason: str, actor: User | None,
                        now: datetime) -> AgencyDocument:
    """终止: the project ends, every item not yet closed is terminated, and the
    termination slip lists them with the reason."""
    _require_mandated(session, project_id)
    ops.terminate_project(session, project_id, actor=actor, now=now, reason=reason)
    return _latest(session, project_id, "termination")
