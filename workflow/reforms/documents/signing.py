"""The enterprise's mandate (帮办代办不包办): the 代办服务委托书 and a change of
its scope are signed by the enterprise — in the portal (typed name, consent,
the SHA-256 of the text shown, as for commitment letters) or on paper (a lead
handler records it with the scan) — or declined with a reason, and agents act
on a project's items only within the scope of the signed mandate.

The guard (``task.act``, run by every task step a person takes) refuses the
steps by which the zone acts for the enterprise on an item outside the signed
scope — before the mandate is signed, every item: starting the work,
requesting and recording materials, submitting, recording the department's
answer, completing, asking for more time. What stays open before the
signature, and why:

- reading the project, its items and its documents, and comments and files:
  coaching the enterprise on what an item needs (一次性告知's groundwork) is
  the zone's public guidance, owed to any applicant, mandate or not;
- routing (claim, assign, hand over, return to the queue): who will handle an
  item is the zone's internal organisation and acts on nobody's behalf (the
  mandate itself names the team), so work starts the day it is signed;
- covering an item by a regional evaluation (the zone's own result, paid by
  the zone) or by the enterprise's own signed commitment: nobody acts for
  the enterprise there;
- the lifecycle (suspend, resume, terminate) and the enterprise's own steps.

A project with no mandate document at all was mandated before the paperwork
existed (old data, a bulk load); under the engine of the time the mandate was
the enterprise's signature, so all its items are in scope. Every project
mandated since gets its mandate in the same transaction (one door), waiting
for the signature.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import audit, hooks, notify, permissions
from workflow.core import operations as ops
from workflow.core.machines import status_machine
from workflow.core.models import CLOSED_STATES, ItemTask, Project
from workflow.kernel import validate
from workflow.kernel.errors import (
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
    term,
)
from workflow.kernel.models import User
from workflow.kernel.signatures import check_signature, sha256_of
from workflow.reforms.documents.models import SIGNATURE_STATES, AgencyDocument
from workflow.reforms.documents.paperwork import TITLES, document_text, signs

SIGNATURES = status_machine(term("signature"), SIGNATURE_STATES, [
    {"trigger": "sign", "source": "awaiting", "dest": "signed"},
    {"trigger": "decline", "source": "awaiting", "dest": "declined"},
], labels={"sign": term("sign the document"), "decline": term("decline the document")})

# The stages after which the enterprise's answers and changes of scope stop.
ENDED = (term("terminated"), term("verified"))

# The task steps by which agents act for the enterprise on an item: refused
# outside the signed mandate (see the module's docstring for what is not).
ACTING_EVENTS = frozenset({
    "start", "request_materials", "supply_materials", "submit", "approve",
    "department_return", "rework", "complete", "request_extension",
})


# -- the scope in force ----------------------------------------------------------------

def _mandate_papers(session: Session, project_id: int) -> list[AgencyDocument]:
    """The mandates and changes of scope of a project, in the order issued."""
    with session.no_autoflush:
        rows = session.scalars(select(AgencyDocument).where(
            AgencyDocument.project_id == project_id,
            AgencyDocument.kind.in_(("mandate", "continuation"))).order_by(AgencyDocument.id))
        return [d for d in rows if signs(d.kind, d.data)]


def signed_scope(session: Session, project: Project) -> list[str] | None:
    """The item codes of the signed mandate as its signed changes of scope
    left it ([] while the mandate waits for its signature or was declined);
    None for a project mandated before the paperwork (every item). While
    actions are being offered, looked up once per project."""
    return hooks.remembered(("signed_scope", project.id),
                            lambda: _scope_of(_mandate_papers(session, project.id)))


def _scope_of(papers: list[AgencyDocument]) -> list[str] | None:
    if not any(d.kind == "mandate" for d in papers):
        return None
    scope: list[str] = []
    for document in papers:
        if document.status == "signed":
            scope = list(document.data["scope"])
    return scope


@hooks.preparer("tasks.offer")
def read_scopes(session: Session, tasks: list[ItemTask]) -> None:
    """The signed scopes of a list's projects in one query (a page of tasks
    bounds the id list), read if the guard below asks while actions are offered."""
    ids = sorted({t.project_id for t in tasks})

    def load() -> dict:
        papers: dict[int, list[AgencyDocument]] = {i: [] for i in ids}
        with session.no_autoflush:
            for document in session.scalars(select(AgencyDocument).where(
                    AgencyDocument.project_id.in_(ids),
                    AgencyDocument.kind.in_(("mandate", "continuation")))
                    .order_by(AgencyDocument.id)):
                if signs(document.kind, document.data):
                    papers[document.project_id].append(document)
        return {("signed_scope", i): _scope_of(found) for i, found in papers.items()}

    hooks.prepare("signed_scope", load)


def awaiting(session: Session, project_id: int, kind: str) -> AgencyDocument | None:
    """The mandate (``kind="mandate"``) or change of scope (``"continuation"``)
    waiting for the enterprise's signature, if any."""
    return next((d for d in _mandate_papers(session, project_id)
                 if d.kind == kind and d.status == "awaiting"), None)


@hooks.guard("task.act")
def require_signed_mandate(session: Session, task: ItemTask, *, actor: User,
                           event: str) -> None:
    """Agents act for the enterprise only on items of its signed mandate."""
    if event not in ACTING_EVENTS or actor.role == "enterprise":
        return
    project = task.project
    scope = signed_scope(session, project)
    if scope is None or task.item_code in scope:
        return
    if not scope:
        raise InvalidTransition(
            "The enterprise has not signed the mandate (代办服务委托书) of project {project}: "
            "agents act on its items only once it is signed (帮办代办不包办).",
            project=project.code, event=event, refusal="mandate_unsigned")
    raise InvalidTransition(
        "Item {item} is outside the signed mandate of project {project}: "
        "agents act on it only once a signed change of scope adds it.",
        project=project.code, item=task.item_code, event=event, refusal="outside_mandate",
        item_zh=_item(project, task).name_zh, item_en=_item(project, task).name_en)


def _item(project: Project, task: ItemTask):
    return ops.definition_for(project).items[task.item_code]


# -- the enterprise's answer -----------------------------------------------------------

def _load(session: Session, document_id: int) -> tuple[AgencyDocument, Project]:
    """The document, after its project row is locked (the lock order)."""
    project_id = session.scalar(select(AgencyDocument.project_id).where(
        AgencyDocument.id == document_id))
    if project_id is None:
        raise NotFound("Document {document} does not exist.", document=document_id)
    project = ops.lock_project(session, project_id)
    document = session.get(AgencyDocument, document_id)
    session.refresh(document, with_for_update=True)
    return document, project


def _require_answerable(document: AgencyDocument, project: Project) -> None:
    title = TITLES[document.kind]
    if document.status is None:
        raise InvalidTransition("The {title} {number} is not the enterprise's to sign.",
                                title=title, number=document.number)
    if document.status != "awaiting":
        raise InvalidTransition("The {title} {number} was already {status}.",
                                status=document.status, title=title, number=document.number)
    if project.stage in ENDED:
        raise InvalidTransition("Project {project} is {state}.", state=project.stage,
                                project=project.code)


def _what(document: AgencyDocument) -> str:
    return term("mandate") if document.kind == "mandate" else term("continuation mandate")


def _told(session: Session, document: AgencyDocument, project: Project, entry, *,
          actor: User | None, now: datetime, verdict: str) -> None:
    """The lead handler (and whoever issued the document) learns the answer,
    unless they recorded it themselves; an answer the system records (the
    demo's seed, old data) was known already and tells nobody."""
    if actor is None:
        return
    issuer = session.get(User, document.issued_by_id) if document.issued_by_id else None
    told = [u for u in (project.lead, issuer) if u is not None and u.id != actor.id]
    message = notify.Message("document_answered", f"【{TITLES[document.kind]}】{verdict}",
                             f"「{project.name}」（{project.code}）的{TITLES[document.kind]}"
                             f"（{document.number}）{verdict}。")
    notify.tell(session, told, message, now=now, key=f"audit:{project.id}:{entry.seq}",
                project=project)


def sign_document(session: Session, document_id: int, *, actor: User, now: datetime,
                  signatory: str, consent: bool, shown_sha256: str | None) -> AgencyDocument:
    """The enterprise signs the mandate or a change of its scope in the
    portal: its user types the signatory's name, ticks the consent, and the
    SHA-256 of the text it was shown must be the text's (kept as what was
    signed). The document then takes effect (``_take_effect``)."""
    document, project = _load(session, document_id)
    if not permissions.can_sign_for_enterprise(actor, project):
        raise NotPermitted("Only a user of {enterprise} may sign for it.",
                           project=project.code, enterprise=project.enterprise.name)
    _require_answerable(document, project)
    signatory, digest = check_signature(document_text(document), signatory=signatory,
                                        consent=consent, what=_what(document),
                                        shown_sha256=shown_sha256, shown_required=True)
    SIGNATURES.fire(document, "sign")
    document.signed_via, document.signed_on = "portal", ops.zone_today(now)
    document.signatory, document.signed_sha256 = signatory, digest
    document.answered_by_id, document.answered_at = actor.id, ops.utc(now)
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="document.signed",
                         data={"document": document.id, "number": document.number, "via": "portal",
                               "signatory": signatory, "sha256": digest}, public=True)
    _told(session, document, project, entry, actor=actor, now=now,
          verdict=f"已由企业在线签署（签署人：{signatory}）")
    _take_effect(session, document, project, now=now)
    return document


def decline_document(session: Session, document_id: int, *, actor: User, now: datetime,
                     reason: str) -> AgencyDocument:
    """The enterprise declines the mandate or a change of its scope, saying
    why: nothing it names takes effect; the lead handler may issue a revised
    one (or end the service)."""
    reason = validate.text(reason, term("reason for declining"), limit=2000)
    document, project = _load(session, document_id)
    if not permissions.can_sign_for_enterprise(actor, project):
        raise NotPermitted("Only a user of {enterprise} may answer for it.",
                           project=project.code, enterprise=project.enterprise.name)
    _require_answerable(document, project)
    SIGNATURES.fire(document, "decline")
    document.decline_reason = reason
    document.answered_by_id, document.answered_at = actor.id, ops.utc(now)
    entry = audit.record(session, project, actor=actor, now=ops.utc(now),
                         action="document.declined", public=True,
                         data={"document": document.id, "number": document.number,
                               "reason": reason})
    _told(session, document, project, entry, actor=actor, now=now,
          verdict=f"被企业拒绝签署（理由：{reason}）")
    ops.flush(session)
    return document


def record_paper_signature(session: Session, document_id: int, *, actor: User | None,
                           now: datetime, signatory: str, signed_on: date,
                           scan: dict | None = None) -> AgencyDocument:
    """A lead handler of the project records that the enterprise signed the
    printed text on paper on ``signed_on``, with the scan of the signed page
    (``scan``: the stored upload as ``ops.record_attachment`` takes it).
    The system (``actor`` None: a migration, the demo's seed) records one
    without a scan. The document then takes effect (``_take_effect``)."""
    document, project = _load(session, document_id)
    if actor is not None:
        if not permissions.can_record_paper_signature(actor, project):
            raise NotPermitted("{user} ({role}) may not record a paper signature "
                               "for project {project}: the project's lead handlers do.",
                               project=project.code, user=actor.username, role=actor.role)
        if not scan:
            raise ValidationError("Attach the scan of the page the enterprise signed.",
                                  field="scan")
    _require_answerable(document, project)
    signatory = validate.text(signatory, term("signatory's name"), limit=200)
    issued_on = date.fromisoformat(document.data["issued_on"])
    if not isinstance(signed_on, date) or not issued_on <= signed_on <= ops.zone_today(now):
        raise ValidationError("The day of the paper signature lies between the issue day "
                              "({issued}) and today.", field="signed_on",
                              issued=issued_on.isoformat())
    row = (ops.record_attachment(session, project.id, actor=actor, now=now, **scan)
           if scan and actor is not None else None)
    digest = sha256_of(document_text(document))
    SIGNATURES.fire(document, "sign")
    document.signed_via, document.signed_on = "paper", signed_on
    document.signatory, document.signed_sha256 = signatory, digest
    document.scan_id = row.id if row is not None else None
    document.answered_by_id = actor.id if actor is not None else None
    document.answered_at = ops.utc(now)
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="document.signed",
                         data={"document": document.id, "number": document.number, "via": "paper",
                               "signatory": signatory, "signed_on": signed_on, "sha256": digest,
                               "scan": row.sha256 if row is not None else None}, public=True)
    _told(session, document, project, entry, actor=actor, now=now,
          verdict=f"已纸质签署（签署人：{signatory}，{signed_on.isoformat()}）")
    _take_effect(session, document, project, now=now)
    return document


def _take_effect(session: Session, document: AgencyDocument, project: Project, *,
                 now: datetime) -> None:
    """A signed mandate begins the approvals of a project that waited for it
    (its items enter their queues, their clocks start); a signed change of
    scope ends the agency of the items it removes (each open one is
    terminated, its clock stops) — those it adds are in scope from now on."""
    if document.kind == "mandate":
        if project.stage == "mandated":
            ops.advance_project(session, project.id, actor=None, now=now)
    else:
        by_code = {t.item_code: t for t in project.tasks}
        for line in document.data.get("removed", []):
            task = by_code.get(line["code"])
            if task is not None and task.state not in CLOSED_STATES:
                ops.terminate_task(session, task.id, actor=None, now=now,
                                   reason=f"移出代办范围（{document.number}）")
    ops.flush(session)
